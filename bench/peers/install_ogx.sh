#!/usr/bin/env bash
# Install OGX (PyPI `ogx`, formerly Llama Stack) into its own venv, .local/peers/ogx, for the
# benchmark's peer target O (bench/peers/ogx_peer.py). Never into the project's .venv: OGX pins its
# own FastAPI/pydantic/openai versions. OGX needs Python >= 3.12; set OGX_PYTHON to choose one.
set -euo pipefail

OGX_VERSION="${OGX_VERSION:-1.5.0}"
LITELLM_WHEEL_VERSION="1.80.0"  # only for the tiktoken file its wheel ships (see below)
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.local/peers/ogx"

find_python() {
    if [ -n "${OGX_PYTHON:-}" ]; then echo "$OGX_PYTHON"; return; fi
    for candidate in python3.13 python3.12 \
        "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            echo "$candidate"; return
        fi
    done
    echo "no Python >= 3.12 found (OGX requires it); set OGX_PYTHON" >&2
    exit 1
}

if [ -x "$VENV/bin/ogx" ] && [ -s "$VENV/tiktoken-cache/9b5ad71b2ce5302211f9c61530b329a4922fc6a4" ] \
    && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ogx"))' 2>/dev/null)" = "$OGX_VERSION" ]; then
    echo "OGX $OGX_VERSION already installed in $VENV"; exit 0
fi
PY="$(find_python)"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "ogx==$OGX_VERSION"
# The providers' own packages (faiss-cpu, pandas, …), as OGX itself lists them for our config.
# shellcheck disable=SC2046
"$VENV/bin/python" -m pip install --quiet $("$VENV/bin/ogx" stack list-deps "$ROOT/bench/peers/ogx.yaml")
# OGX's vector_io providers load tiktoken's cl100k_base at startup, which tiktoken downloads from
# openaipublic.blob.core.windows.net: unreachable offline. The LiteLLM wheel (PyPI) ships that
# file under tiktoken's cache name (the SHA-1 of its URL); bench/peers/ogx_peer.py points
# TIKTOKEN_CACHE_DIR at it. tiktoken checks the file's SHA-256, so a wrong file fails loudly.
TIKTOKEN_CACHE="$VENV/tiktoken-cache"
CL100K="9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
if [ ! -s "$TIKTOKEN_CACHE/$CL100K" ]; then
    WHEELS="$(mktemp -d)"
    "$VENV/bin/python" -m pip download --quiet --no-deps "litellm==$LITELLM_WHEEL_VERSION" -d "$WHEELS"
    mkdir -p "$TIKTOKEN_CACHE"
    "$VENV/bin/python" - "$WHEELS" "$TIKTOKEN_CACHE" "$CL100K" <<'PY'
import glob, sys, zipfile
wheels, cache, name = sys.argv[1:]
with zipfile.ZipFile(glob.glob(f"{wheels}/litellm-*.whl")[0]) as wheel:
    data = wheel.read(f"litellm/litellm_core_utils/tokenizers/{name}")
with open(f"{cache}/{name}", "wb") as out:
    out.write(data)
PY
    rm -rf "$WHEELS"
fi
TIKTOKEN_CACHE_DIR="$TIKTOKEN_CACHE" "$VENV/bin/python" -c 'import tiktoken; tiktoken.get_encoding("cl100k_base")'
"$VENV/bin/python" -m pip freeze > "$VENV/freeze.txt"
echo "OGX $OGX_VERSION installed in $VENV ($("$VENV/bin/python" --version))"
