"""Images for models that see them, a placeholder for those that do not.

The run engine puts a message's images in the chat-completions shape — ``image_url``
parts whose URL is a ``data:`` URL for stored files, or the client's own remote URL,
which Entities passes on and never fetches. Each backend then sends them in its wire
format when the model sees (Ollama: base64 ``images``; OpenAI-compatible servers: the
parts as they are), or replaces each with PLACEHOLDER when it does not.

Whether a model sees: the model server where it says so (Ollama's /api/show reports
``capabilities``), else ENTITIES_VISION_MODELS, comma-separated shell patterns matched
against the model's name without its backend prefix.
"""

from __future__ import annotations

import fnmatch
import re

from django.conf import settings

PLACEHOLDER = "[image omitted: this backend receives text only]"
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


def has_images(messages: list[dict]) -> bool:
    """Whether any message carries an image part."""
    return any(isinstance(m.get("content"), list) and any(_is_image(p) for p in m["content"]) for m in messages)


def _is_image(part) -> bool:
    return isinstance(part, dict) and part.get("type") == "image_url"


def sees_by_setting(model: str) -> bool:
    """Whether ENTITIES_VISION_MODELS names ``model`` (case-insensitive shell patterns)."""
    name = (model or "").lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in settings.ENTITIES_VISION_MODELS)


def text_only(messages: list[dict]) -> list[dict]:
    """The messages with every content list flattened to text, images as PLACEHOLDER."""
    flattened = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            text = "".join(PLACEHOLDER if _is_image(p) else (p.get("text") or "") for p in content if isinstance(p, dict))
            message = {**message, "content": text}
        flattened.append(message)
    return flattened


def for_model(messages: list[dict], *, sees: bool) -> list[dict]:
    """The messages as they may go to a model that does (or does not) see."""
    return messages if sees else text_only(messages)


def data_url_parts(url: str) -> tuple[str, str] | None:
    """(mime type, base64 data) of a ``data:`` URL, or None for any other URL."""
    match = _DATA_URL.match(url or "")
    return (match["mime"], match["data"]) if match else None
