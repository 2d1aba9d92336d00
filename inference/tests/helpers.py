"""Small helpers for the inference tests."""

from __future__ import annotations

import socket

from inference.backends.base import InferenceBackend
from inference.events import ChatRequest, InferenceEvent, ToolCallDelta


def chat(text: str = "hi there", **options) -> ChatRequest:
    """A one-message request to model "fake-model"."""
    return ChatRequest(model=options.pop("model", "fake-model"), messages=[{"role": "user", "content": text}], **options)


async def collect(backend: InferenceBackend, request: ChatRequest) -> list[InferenceEvent]:
    """Every event of one stream."""
    return [event async for event in backend.stream(request)]


def reassemble(events: list[InferenceEvent]) -> dict[int, tuple[str | None, str]]:
    """{index: (name, whole arguments)} from the tool-call deltas, as the engine would."""
    calls: dict[int, tuple[str | None, str]] = {}
    for event in events:
        if isinstance(event, ToolCallDelta):
            name, arguments = calls.get(event.index, (None, ""))
            calls[event.index] = (name or event.name, arguments + event.arguments)
    return calls


def refused_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
