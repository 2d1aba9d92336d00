"""OGX (PyPI ``ogx``, formerly Llama Stack) as target O: the Responses API streamed through it
from the fake model server, beside Entities' own Responses stream (target R).

Started only when ``bench/peers/install_ogx.sh`` has installed it (.local/peers/ogx); otherwise
the bench runs without it and says why. One process (OGX runs one uvicorn worker), no auth,
SQLite stores in the run's temporary folder, its remote::openai provider pointed at the fake
(bench/peers/ogx.yaml), tiktoken's encoding read from the venv's cache (no download).
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parents[1] / ".local" / "peers" / "ogx"
CONFIG = HERE / "ogx.yaml"
READY_PATH = "/v1/health"
READY_TIMEOUT = 120.0  # OGX imports its providers (pandas, faiss, …) before it listens
# OGX names a model "<provider_id>/<name>"; the provider in ogx.yaml is "fake".
MODEL_PREFIX = "fake/"
# Everything that would make OGX export telemetry; it exports only when an endpoint is set.
_TELEMETRY_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OGX_METRICS_ENDPOINT_ENABLED")


def skip_reason() -> str | None:
    """Why target O cannot run here (None when it can)."""
    if not (VENV / "bin" / "ogx").exists():
        return f"OGX is not installed in {VENV} (run bench/peers/install_ogx.sh)"
    if not any((VENV / "tiktoken-cache").glob("*")):
        return "OGX's tiktoken cache is missing (re-run bench/peers/install_ogx.sh)"
    return None


def argv(port: int) -> list[str]:
    """The server's command line (``--insecure``: plain HTTP on loopback, as the other targets)."""
    return [str(VENV / "bin" / "ogx"), "run", str(CONFIG), "--port", str(port), "--insecure"]


def env(tmp: Path, fake_url: str) -> dict:
    """OGX's environment: the fake's URL, its stores under ``tmp``, nothing sent anywhere."""
    store = tmp / "ogx"
    store.mkdir(parents=True, exist_ok=True)
    out = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_ENV}
    out.update(PYTHONUNBUFFERED="1", HOME=str(store), FAKE_BASE_URL=f"{fake_url}/v1", OGX_STORE_DIR=str(store),
               TIKTOKEN_CACHE_DIR=str(VENV / "tiktoken-cache"), OTEL_SDK_DISABLED="true",
               # Errors only, as Entities runs (no access log): OGX logs every request at INFO
               # and a "Service tier is None" WARNING per response otherwise.
               OGX_LOGGING="all=error")
    return out
