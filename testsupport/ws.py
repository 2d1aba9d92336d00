"""Reading the WebSocket protocol in tests (docs/websocket.md), from either client.

`collect` takes any coroutine function returning the next server frame as a dict, so the
same helpers serve Channels' WebsocketCommunicator and a real `websockets` client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

Frame = dict
Receive = Callable[[], Awaitable[Frame]]

FRAME_TIMEOUT = 10.0


async def collect(receive: Receive, until: Callable[[Frame], bool], *, timeout: float = FRAME_TIMEOUT) -> list[Frame]:
    """Frames up to and including the first one ``until`` accepts; fails after ``timeout`` s."""
    frames: list[Frame] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await receive()
            frames.append(frame)
            if until(frame):
                return frames


def is_done(run_id: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("type") == "done" and frame.get("run_id") == run_id


def is_type(kind: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("type") == kind


def nth_delta(count: int) -> Callable[[Frame], bool]:
    """Accepts the ``count``-th text delta it is shown."""
    seen = 0

    def accept(frame: Frame) -> bool:
        nonlocal seen
        if frame.get("type") == "event" and frame.get("event") == "thread.message.delta":
            seen += 1
        return seen >= count

    return accept


def events(frames: list[Frame], run_id: str | None = None) -> list[Frame]:
    return [f for f in frames if f.get("type") == "event" and (run_id is None or f["run_id"] == run_id)]


def event_names(frames: list[Frame]) -> list[str]:
    return [f["event"] for f in events(frames)]


def seqs(frames: list[Frame]) -> list[int]:
    return [f["seq"] for f in events(frames)]


def text_of(frames: list[Frame]) -> str:
    """The reply text the frames' message deltas add up to."""
    return "".join(part["text"]["value"] for f in events(frames) if f["event"] == "thread.message.delta"
                   for part in f["data"]["delta"]["content"])


def communicator_receive(communicator, timeout: float = FRAME_TIMEOUT) -> Receive:
    return lambda: communicator.receive_json_from(timeout=timeout)


def websocket_receive(websocket) -> Receive:
    async def receive() -> Frame:
        return json.loads(await websocket.recv())

    return receive
