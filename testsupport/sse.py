"""Reading server-sent events in tests, and routing runs to the fake OpenAI server.

`parse_sse` reads a whole SSE body the way the WHATWG parser (and openai's) does, so a
test can compare what went over the wire, frame by frame.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings

# Chunks the fake sends as one reply, and what they add up to.
FAKE_CHUNKS = ["Hel", "lo", " from", " the", " fake"]
FAKE_TEXT = "".join(FAKE_CHUNKS)


@dataclass(frozen=True)
class SseEvent:
    event: str | None
    data: str
    id: str | None = None

    def json(self):
        return json.loads(self.data)


def parse_sse(body: str) -> list[SseEvent]:
    """Every event of an SSE body; a field-less trailing fragment is dropped, as the parser does."""
    events: list[SseEvent] = []
    fields: dict[str, list[str]] = {}
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if "data" in fields:
                events.append(SseEvent(event=(fields.get("event") or [None])[-1], data="\n".join(fields["data"]),
                                       id=(fields.get("id") or [None])[-1]))
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
    return events


def names(events: list[SseEvent]) -> list[str | None]:
    return [e.event for e in events]


@pytest.fixture
def cloud(fake_openai) -> Iterator:
    """Runs whose model is `cloud/<name>` go to the fake OpenAI server."""
    from inference.factory import InferenceFactory

    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="t"):
        InferenceFactory.reset()
        yield fake_openai
    InferenceFactory.reset()


def forget_event_log(live, run_id: str) -> None:
    """Drop the run's retained event log in the live server, as a process that never ran it has none."""
    from conversations.engine.runtime import runtime

    dropped = threading.Event()

    def drop() -> None:
        runtime.streams.pop(run_id, None)
        dropped.set()

    live.loop.call_soon_threadsafe(drop)
    assert dropped.wait(2)
