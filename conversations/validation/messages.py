"""Message bodies: content (string or parts) normalised to the stored shape, attachments."""

from __future__ import annotations

from typing import Any

from conversations.services.content import content_from_text, text_part
from kernel.validation import fields as f

IMAGE_DETAILS = ("auto", "low", "high")
IMAGE_URL_SCHEMES = ("http://", "https://", "data:image/")
ATTACHMENT_TOOLS = ("code_interpreter", "file_search")
MESSAGE_FIELDS = ("role", "content", "attachments", "metadata")


def message_create(body: Any, path: str = "") -> dict:
    """A CreateMessageRequest → ``{"role", "content" (stored shape), "attachments", "metadata"}``."""
    f.obj(body, path, allowed=MESSAGE_FIELDS, required=("role", "content"))
    return {
        "role": f.string(body["role"], f.join(path, "role"), choices=("user", "assistant")),
        "content": content(body["content"], f.join(path, "content")),
        "attachments": attachments(body.get("attachments"), f.join(path, "attachments")),
        "metadata": f.metadata(body.get("metadata"), f.join(path, "metadata")) or {},
    }


def messages(value: Any, path: str) -> list[dict]:
    items = f.array(value, path, nullable=True) or []
    return [message_create(item, f.join(path, i)) for i, item in enumerate(items)]


def content(value: Any, path: str = "content") -> list[dict]:
    """A non-empty string, or a non-empty array of text / image_file / image_url parts.

    Returns the output shape: text becomes ``{"type": "text", "text": {"value", "annotations": []}}``.
    Image parts are stored as given; text-only backends are sent only the text.
    """
    if isinstance(value, str):
        f.string(value, path, non_empty=True)
        return content_from_text(value)
    if not isinstance(value, list):
        raise f.invalid_type(path, "a string or an array of content parts", value)
    parts = f.array(value, path, min_items=1)
    return [_part(part, f.join(path, i)) for i, part in enumerate(parts)]


def _part(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise f.invalid_type(path, "an object", value)
    kind = f.string(value.get("type"), f.join(path, "type"), choices=("text", "image_file", "image_url"))
    if kind == "text":
        f.obj(value, path, allowed=("type", "text"), required=("text",))
        return text_part(f.string(value["text"], f.join(path, "text")))
    if kind == "image_file":
        f.obj(value, path, allowed=("type", "image_file"), required=("image_file",))
        inner_path = f.join(path, "image_file")
        inner = f.obj(value["image_file"], inner_path, allowed=("file_id", "detail"), required=("file_id",))
        return {"type": "image_file", "image_file": {
            "file_id": f.string(inner["file_id"], f.join(inner_path, "file_id"), non_empty=True),
            "detail": _detail(inner.get("detail"), f.join(inner_path, "detail")),
        }}
    f.obj(value, path, allowed=("type", "image_url"), required=("image_url",))
    inner_path = f.join(path, "image_url")
    inner = f.obj(value["image_url"], inner_path, allowed=("url", "detail"), required=("url",))
    url = f.string(inner["url"], f.join(inner_path, "url"), non_empty=True)
    if not url.startswith(IMAGE_URL_SCHEMES):
        raise f.invalid_value(f.join(inner_path, "url"), "expected an http(s) URL or a data:image/… URL.")
    detail = _detail(inner.get("detail"), f.join(inner_path, "detail"))
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def _detail(value: Any, path: str) -> str:
    return f.string(value, path, nullable=True, choices=IMAGE_DETAILS) or "auto"


def attachments(value: Any, path: str = "attachments") -> list[dict]:
    items = f.array(value, path, nullable=True) or []
    cleaned = []
    for i, item in enumerate(items):
        item_path = f.join(path, i)
        f.obj(item, item_path, allowed=("file_id", "tools"), required=("file_id",))
        tools = f.array(item.get("tools", []), f.join(item_path, "tools"), nullable=True) or []
        kinds = []
        for j, entry in enumerate(tools):
            entry_path = f.join(f.join(item_path, "tools"), j)
            f.obj(entry, entry_path, allowed=("type",), required=("type",))
            kinds.append({"type": f.string(entry["type"], f.join(entry_path, "type"), choices=ATTACHMENT_TOOLS)})
        file_id = f.string(item["file_id"], f.join(item_path, "file_id"), non_empty=True)
        cleaned.append({"file_id": file_id, "tools": kinds})
    return cleaned
