"""Images for Ollama: its ``images`` field (base64), and whether a model sees (/api/show).

Ollama's /api/show reports a model's ``capabilities`` (``"vision"`` among them for the
models that see). The answer is cached per host and model for CAPABILITY_TTL_SECONDS;
a server that does not answer, or an older one without ``capabilities``, falls back to
ENTITIES_VISION_MODELS (inference.vision).
"""

from __future__ import annotations

import time

import httpx

from inference.backends.base import content_text
from inference.vision import PLACEHOLDER, data_url_parts, sees_by_setting

CAPABILITY_TTL_SECONDS = 300.0
SHOW_TIMEOUT_SECONDS = 5.0
REMOTE_IMAGE_NOTE = "[image omitted: Ollama takes only inline images, and Entities does not fetch remote URLs]"

_capabilities: dict[tuple[str, str], tuple[float, bool]] = {}


async def model_sees(client: httpx.AsyncClient, host: str, model: str) -> bool:
    """Whether ``model`` on ``host`` takes images: its capabilities, else the setting."""
    key = (host, model)
    cached = _capabilities.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        response = await client.post(f"{host}/api/show", json={"model": model}, timeout=SHOW_TIMEOUT_SECONDS)
        capabilities = response.json().get("capabilities") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        capabilities = None
    sees = "vision" in capabilities if isinstance(capabilities, list) else sees_by_setting(model)
    _capabilities[key] = (time.monotonic() + CAPABILITY_TTL_SECONDS, sees)
    return sees


def ollama_content(content, *, sees: bool) -> dict:
    """``{"content": text}`` plus ``"images": [base64, …]`` for inline images when the model sees."""
    if not isinstance(content, list):
        return {"content": content_text(content)}
    texts: list[str] = []
    images: list[str] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") != "image_url":
            texts.append(part.get("text") or "")
            continue
        inline = data_url_parts((part.get("image_url") or {}).get("url", ""))
        if not sees:
            texts.append(PLACEHOLDER)
        elif inline is None:
            texts.append(REMOTE_IMAGE_NOTE)
        else:
            images.append(inline[1])
    item: dict = {"content": "".join(texts)}
    if images:
        item["images"] = images
    return item
