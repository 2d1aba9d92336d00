"""Building the public Assistants stream events.

An event is a tuple ``(seq, name, data)``: a per-run sequence number, the event name
(`thread.run.created`, `thread.message.delta`, …) and its JSON-serialisable payload.
Lifecycle events carry full objects; delta events carry incremental deltas only.
"""

from __future__ import annotations

import json
from typing import Any

Event = tuple[int, str, Any]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(data: Any) -> str:
    """Compact one-line JSON, as the SSE `data:` line wants it."""
    return _dumps(data)


def message_text_delta(message_id: str, text: str, *, first: bool) -> dict:
    part = {"index": 0, "type": "text", "text": {"value": text}}
    if first:
        part["text"]["annotations"] = []
    return {"id": message_id, "object": "thread.message.delta", "delta": {"content": [part]}}


def step_tool_call_delta(step_id: str, index: int, call: dict) -> dict:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [dict(call, index=index)]}},
    }


def sse_frame(seq: int, name: str, data: Any) -> str:
    payload = data if isinstance(data, str) else encode(data)
    return f"id: {seq}\nevent: {name}\ndata: {payload}\n\n"


DONE_FRAME = "event: done\ndata: [DONE]\n\n"
