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

import orjson

_json_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS

# A client behind by this many events gets the text deltas waiting for it merged (below).
COALESCE_BACKLOG = 16
MAX_COALESCED = 256  # deltas in one merged frame, at most
MESSAGE_DELTA = "thread.message.delta"


def dumps(data: Any) -> bytes:
    """Compact one-line JSON as UTF-8 bytes (orjson: about 3x json's speed per event; an
    integer past 64 bits, which orjson refuses, goes through json)."""
    try:
        return orjson.dumps(data, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _json_dumps(data).encode()

SEGMENT_END = frozenset({
    "thread.run.completed", "thread.run.failed", "thread.run.cancelled", "thread.run.expired",
    "thread.run.incomplete", "thread.run.requires_action",
})


REASONING_DELTA = "thread.reasoning.delta"
# Events of Entities' own that the Assistants stream (OpenAI's event list) does not have.
NOT_ASSISTANTS = frozenset({REASONING_DELTA})


def encode(data: Any) -> str:
    """Compact one-line JSON, as the SSE `data:` line wants it."""
    return dumps(data).decode()


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
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.seq, self.name.encode(), dumps(self.data))

    def to_wire(self) -> list:
        """The event as the channel layer carries it between processes."""
        return [self.seq, self.name, self.data]

    @classmethod
    def from_wire(cls, item) -> RunEvent:
        seq, name, data = item
        return cls(int(seq), name, data)


def _delta_text(event: RunEvent) -> str | None:
    """The text of a plain one-part text delta, else None (nothing else is merged)."""
    if event.name != MESSAGE_DELTA:
        return None
    content = event.data.get("delta", {}).get("content") or ()
    if len(content) != 1 or content[0].get("type") != "text" or content[0].get("index") != 0:
        return None
    text = content[0].get("text") or {}
    return text.get("value") if not text.get("annotations") else None


def coalesce_deltas(events: list[RunEvent], start: int) -> tuple[RunEvent, int]:
    """(one event, index after it): ``events[start]``, merged with the text deltas of the same
    message that follow it at once (at most MAX_COALESCED). The merged event carries the
    whole text and the last merged seq (a client resuming from it misses nothing)."""
    first = events[start]
    texts = [_delta_text(first)]
    end = start + 1
    if texts[0] is None:
        return first, end
    while end < len(events) and end - start < MAX_COALESCED:
        event = events[end]
        text = _delta_text(event)
        if text is None or event.data.get("id") != first.data.get("id"):
            break
        texts.append(text)
        end += 1
    if end == start + 1:
        return first, end
    part = first.data["delta"]["content"][0]
    merged = dict(part, text=dict(part["text"], value="".join(texts)))
    return RunEvent(events[end - 1].seq, first.name, dict(first.data, delta={"content": [merged]})), end


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
