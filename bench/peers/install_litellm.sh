#!/usr/bin/env bash
# The LiteLLM proxy as a bench peer (issue 19), in its own virtual environment, never in
# Entities' own: .local/peers/litellm. Pinned; re-running it is a no-op once installed.
#
#     bench/peers/install_litellm.sh        # then: python -m bench.peers.litellm_peer
set -euo pipefail
# 1.110.x: its [proxy] extra needs the litellm-proxy distribution, which this index does not have.
LITELLM_VERSION="${LITELLM_VERSION:-1.80.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.local/peers/litellm"
if [ -x "$VENV/bin/litellm" ] && "$VENV/bin/python" -c "import litellm" 2>/dev/null; then
  echo "litellm already installed in $VENV"; exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "litellm[proxy]==$LITELLM_VERSION"
"$VENV/bin/litellm" --version
