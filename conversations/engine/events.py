"""The run event: what the engine publishes, and every surface translates.

A run's life is told as a sequence of ``RunEvent``s — the Assistants stream events
(``thread.run.created``, ``thread.message.delta``, ``thread.run.step.completed``, …), each
numbered. The executor builds each event once, after the write it describes, and appends it
to the run's log (``engine/stream.py``); watchers get the same objects (``engine/watch.py``),
live or replayed from stored state. A surface only serialises them:

- SSE (``conversations/streaming.py``): ``event.sse()`` → ``id: <seq>``, ``event: <name>``, ``data: <json>``;
- the WebSocket (``conversations/consumers.py``): ``{"type": "event", "seq", "event", "data"}``;
- the seed route and ``process_conversation``: the text of ``event.text()``, the run's ending;
- another public API (e.g. OpenAI's Responses stream): one more translator of these events.

Writing a translator, rely on this and nothing else in the engine:

- ``seq`` counts the run's events from 1, strictly increasing, continued across segments (a
  run paused in ``requires_action`` and continued goes on from the pause's seq).
- A *segment* ends with ``thread.run.requires_action`` or a terminal run event
  (``completed``, ``failed``, ``cancelled``, ``expired``, ``incomplete``): ``event.ends_segment``.
- ``data`` is a JSON-ready dict, never mutated after it is built (several watchers share it):
  for ``thread.run.*`` the whole run object, for ``thread.message.*`` the whole message, for
  ``thread.run.step.*`` the whole step (all as the REST API shows them); for ``*.delta``
  events only the increment: ``thread.message.delta`` carries new text
  (``event.text()`` reads it), ``thread.run.step.delta`` a tool-call fragment.
- ``thread.reasoning.delta`` (Entities' own, not an Assistants event: the Assistants SSE
  leaves it out, ``event.assistants`` is False; not named ``thread.run.*``, whose payloads
  clients such as the chat page read as the run) carries a thinking model's reasoning text,
  ``{"id": "rs_X", "delta": {"text"}}``, before the step it precedes: that step's message is
  ``msg_X`` or its tool step ``step_X``, which stores the text (``Message.reasoning``, the
  first ``Action.reasoning``).
- Order: a message's ``created`` comes before its deltas, its ``completed``/``incomplete``
  after them; two messages' deltas never interleave; a tool step is announced
  (``thread.run.step.created``) before its deltas.
- Follow a run with ``engine.watch.watch_run(run_id, after_seq=k)``: the events with seq > k,
  each once, replayed then live, until the segment ends. A replay from stored state
  (``engine/replay.py``) sends the same events with the same numbers, except that a
  message's text comes as one delta and a tool call is announced whole (docs/streaming.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

SEGMENT_END = frozenset({
    "thread.run.completed", "thread.run.failed", "thread.run.cancelled", "thread.run.expired",
    "thread.run.incomplete", "thread.run.requires_action",
})


REASONING_DELTA = "thread.reasoning.delta"
# Events of Entities' own that the Assistants stream (OpenAI's event list) does not have.
NOT_ASSISTANTS = frozenset({REASONING_DELTA})


def encode(data: Any) -> str:
    """Compact one-line JSON, as the SSE `data:` line wants it."""
    return _dumps(data)


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of a run: its sequence number, Assistants stream event name and payload."""

    seq: int
    name: str
    data: dict

    def __iter__(self):
        """Unpacks as ``seq, name, data = event``."""
        return iter((self.seq, self.name, self.data))

    @property
    def ends_segment(self) -> bool:
        """True for the last event of a segment (requires_action or a terminal status)."""
        return self.name in SEGMENT_END

    @property
    def assistants(self) -> bool:
        """False for events the Assistants stream has no name for (reasoning text)."""
        return self.name not in NOT_ASSISTANTS

    def text(self) -> str:
        """The new text of a ``thread.message.delta`` ("" for any other event)."""
        if self.name != "thread.message.delta":
            return ""
        return "".join(part.get("text", {}).get("value", "") for part in self.data["delta"].get("content", ()))

    def sse(self) -> bytes:
        """The event as one server-sent-events frame."""
        return f"id: {self.seq}\nevent: {self.name}\ndata: {_dumps(self.data)}\n\n".encode()

    def to_wire(self) -> list:
        """The event as the channel layer carries it between processes."""
        return [self.seq, self.name, self.data]

    @classmethod
    def from_wire(cls, item) -> RunEvent:
        seq, name, data = item
        return cls(int(seq), name, data)


def message_text_delta(message_id: str, text: str, *, first: bool) -> dict:
    """The payload of ``thread.message.delta`` for ``text`` (the first one names no annotations yet)."""
    part = {"index": 0, "type": "text", "text": {"value": text}}
    if first:
        part["text"]["annotations"] = []
    return {"id": message_id, "object": "thread.message.delta", "delta": {"content": [part]}}


def reasoning_delta(reasoning_id: str, text: str) -> dict:
    """The payload of ``thread.reasoning.delta``: more of the reasoning ``reasoning_id``."""
    return {"id": reasoning_id, "object": REASONING_DELTA, "delta": {"text": text}}


def step_tool_call_delta(step_id: str, index: int, call: dict) -> dict:
    """The payload of ``thread.run.step.delta`` for one tool call's fragment at ``index``."""
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": [dict(call, index=index)]}},
    }


def sse_frame(seq: int, name: str, data: Any) -> bytes:
    """An SSE frame for something that is not a run event (``thread.created``)."""
    return RunEvent(seq, name, data).sse()


DONE_FRAME = b"event: done\ndata: [DONE]\n\n"
