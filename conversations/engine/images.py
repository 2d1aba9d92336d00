"""A user's message with images, as chat-completions content parts for the model.

Stored files (``image_file``) become ``data:`` URLs of their bytes; ``image_url`` parts
keep the client's URL, which Entities never fetches. The backend decides whether the
model gets them or a placeholder (inference.vision).
"""

from __future__ import annotations

import base64

from conversations.models import Message
from files.selectors import files_for_user
from files.services import file_read

MAX_INLINE_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's own limit for an image in a request


def content_parts(message: Message) -> list[dict]:
    """Text parts and ``image_url`` parts, in the message's order."""
    ids = [(p.get("image_file") or {}).get("file_id") for p in message.content or [] if p.get("type") == "image_file"]
    files = files_for_user(user=message.owner_id, file_ids=ids)
    parts: list[dict] = []
    for part in message.content or []:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": (part.get("text") or {}).get("value", "")})
        elif kind == "image_url":
            image = part.get("image_url") or {}
            parts.append({"type": "image_url", "image_url": {"url": image.get("url", ""), "detail": image.get("detail", "auto")}})
        elif kind == "image_file":
            image = part.get("image_file") or {}
            file = files.get(image.get("file_id"))
            if file is None:
                parts.append({"type": "text", "text": f"[image {image.get('file_id')} is no longer available]"})
            elif file.bytes > MAX_INLINE_IMAGE_BYTES or not file.content_type.startswith("image/"):
                parts.append({"type": "text", "text": f"[image {file.filename} omitted: not an image of at most "
                                                      f"{MAX_INLINE_IMAGE_BYTES} bytes]"})
            else:
                data = base64.b64encode(file_read(file)).decode("ascii")
                parts.append({"type": "image_url", "image_url": {"url": f"data:{file.content_type};base64,{data}",
                                                                 "detail": image.get("detail", "auto")}})
    return parts
