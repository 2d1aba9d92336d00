"""Message content: the stored (output) shape of content parts."""

from __future__ import annotations

from conversations.models import text_part  # noqa: F401 - the stored shape lives with the model


def content_from_text(value: str) -> list[dict]:
    return [text_part(value)]


def content_text(content: list[dict]) -> str:
    """The text of the text parts, joined (images are left out)."""
    return "".join(p.get("text", {}).get("value", "") for p in content or [] if p.get("type") == "text")


def title_from_text(value: str, limit: int = 60) -> str:
    line = " ".join(value.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
