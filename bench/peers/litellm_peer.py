"""The LiteLLM proxy as target L: chat completions streamed through it from the fake model.

Started only when ``bench/peers/install_litellm.sh`` has installed it (.local/peers/litellm);
otherwise the bench runs without it and says so. One worker, no master key, no database,
every model name passed on to the fake server (a ``*`` route), as a gateway in front of one
OpenAI-compatible server is usually deployed.
"""

from __future__ import annotations

from pathlib import Path

VENV = Path(__file__).resolve().parents[2] / ".local" / "peers" / "litellm"
READY_PATH = "/health/liveliness"
READY_TIMEOUT = 120.0  # LiteLLM imports a great deal before it listens

CONFIG = """\
model_list:
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: "{api_base}"
      api_key: "bench-not-a-secret"
litellm_settings:
  drop_params: true
  telemetry: false
general_settings:
  disable_spend_logs: true
"""


def installed() -> bool:
    return (VENV / "bin" / "litellm").exists()


def argv_and_config(tmp: Path, fake_url: str, port: int) -> list[str]:
    """The proxy's command line; writes its config under ``tmp``."""
    config = tmp / "litellm.yaml"
    config.write_text(CONFIG.format(api_base=f"{fake_url}/v1"))
    return [str(VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1"]
