"""What the fake model servers share: the scenario queue, the records, disconnect tracking.

Each fake is a raw ASGI app served by ThreadedUvicorn. Tests push scenarios from their
own thread; the fake consumes one per chat request in uvicorn's thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from typing import Any

from testsupport.asgi_server import ThreadedUvicorn
from testsupport.scenarios import Disconnect, Hang, Malformed, RecordedRequest, Reply, Scenario, ToolCalls, words


class AbruptClose(Exception):
    """Raised inside a fake to make uvicorn drop the connection mid-response."""


class _QuietAbruptClose(logging.Filter):
    # uvicorn logs every app exception with a traceback; ours are on purpose.
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AbruptClose))


logging.getLogger("uvicorn.error").addFilter(_QuietAbruptClose())


class Exchange:
    """The response side of one request, knowing whether the client has gone away."""

    def __init__(self, receive: Any, send: Any) -> None:
        self._send = send
        self.gone = asyncio.Event()
        self._complete = False
        self._watcher = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # uvicorn also reports a disconnect once the response is complete; that one is normal.
                if not self._complete:
                    self.gone.set()
                return

    async def start(self, status: int = 200, content_type: str = "application/json") -> None:
        """Send the status line and headers."""
        await self._send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type.encode())]})

    async def write(self, data: bytes) -> bool:
        """Send a body piece; False once the client has gone (uvicorn then drops writes)."""
        if self.gone.is_set():
            return False
        await self._send({"type": "http.response.body", "body": data, "more_body": True})
        return not self.gone.is_set()

    async def end(self, data: bytes = b"") -> None:
        """Send the last body piece and complete the response."""
        self._complete = True
        if not self.gone.is_set():
            await self._send({"type": "http.response.body", "body": data, "more_body": False})

    async def respond(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        """A whole non-streaming response."""
        await self.start(status, content_type)
        await self.end(body)

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds` (at least one loop turn); False if the client went away meanwhile."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return not self.gone.is_set()
        try:
            await asyncio.wait_for(self.gone.wait(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    def close(self) -> None:
        self._watcher.cancel()


class FakeModelServer:
    """Base of FakeOpenAIServer and FakeOllamaServer: subclasses implement `handle()`."""

    def __init__(self) -> None:
        self._scenarios: deque[Scenario] = deque()
        self._lock = threading.Condition()
        self._generation = 0
        self._disconnects = 0
        self._served = 0
        self.requests: list[dict] = []
        self.log: list[RecordedRequest] = []
        self._server = ThreadedUvicorn(self, ws="none")

    # --- the test's side -----------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The server root, "http://127.0.0.1:PORT"."""
        return self._server.url

    def push(self, *scenarios: Scenario) -> FakeModelServer:
        """Queue scenarios; each chat request (not /models or /api/tags) consumes one.

        With the queue empty the fake echoes the last user message again."""
        self._scenarios.extend(scenarios)
        return self

    def reset(self) -> None:
        """Forget queued scenarios and records; late events from earlier requests are ignored."""
        with self._lock:
            self._generation += 1
            self._scenarios.clear()
            self.requests.clear()
            self.log.clear()
            self._disconnects = 0

    @property
    def disconnects(self) -> int:
        """Chat responses the client abandoned before they ended."""
        return self._disconnects

    def wait_for_disconnect(self, timeout: float = 2.0, count: int = 1) -> bool:
        """Block until `count` disconnects were seen. From async tests use `await_disconnect`:
        blocking the test's loop would also stop it from closing its sockets."""
        with self._lock:
            return self._lock.wait_for(lambda: self._disconnects >= count, timeout)

    async def await_disconnect(self, timeout: float = 2.0, count: int = 1) -> bool:
        """Wait, without blocking the running loop, until `count` disconnects were seen."""
        deadline = time.monotonic() + timeout
        while self._disconnects < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def start(self) -> FakeModelServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- the server's side ---------------------------------------------------------
    def next_scenario(self) -> Scenario | None:
        """The next queued scenario, or None (echo)."""
        try:
            return self._scenarios.popleft()
        except IndexError:
            return None

    def next_number(self) -> int:
        """A number unique to this server, for ids."""
        with self._lock:
            self._served += 1
            return self._served

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        body = json.loads(raw) if raw.strip() else None
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        generation = self._generation
        client = tuple(scope["client"]) if scope.get("client") else None
        self.log.append(RecordedRequest(scope["method"], scope["path"], headers, body, client))
        if body is not None:
            self.requests.append(body)
        exchange = Exchange(receive, send)
        try:
            await self.handle(scope["method"], scope["path"], headers, body, exchange)
        finally:
            exchange.close()
            if exchange.gone.is_set():
                with self._lock:
                    if generation == self._generation:
                        self._disconnects += 1
                        self._lock.notify_all()

    async def handle(self, method: str, path: str, headers: dict[str, str], body: dict | None, exchange: Exchange) -> None:
        raise NotImplementedError


class StreamFormat:
    """How one wire protocol frames a streamed reply; FakeModelServer.play() drives it."""

    content_type = "application/json"
    garbage = b"this is not json {\n"

    def opening(self) -> list[bytes]:
        return []

    def text(self, text: str) -> bytes:
        raise NotImplementedError

    def tool_calls(self, calls: list[tuple[str, str]], fragment_size: int) -> list[bytes]:
        raise NotImplementedError

    def reasoning(self, text: str, field: str) -> bytes:
        raise NotImplementedError

    def closing(self, finish: str, usage: tuple[int, int]) -> list[bytes]:
        raise NotImplementedError


async def play(fmt: StreamFormat, scenario: Scenario, echo: list[str], prompt_tokens: int, exchange: Exchange) -> None:
    """Stream `scenario` in `fmt`; `echo` are the words used for partial replies."""
    await exchange.start(200, fmt.content_type)
    for frame in fmt.opening():
        await exchange.write(frame)
    if isinstance(scenario, Reply):
        if not await exchange.pause(scenario.first_delay):
            return
        frames = [fmt.reasoning(piece, scenario.reasoning_field) for piece in scenario.reasoning]
        frames += [fmt.text(chunk) for chunk in scenario.chunks]
        for number, frame in enumerate(frames):
            if number and not await exchange.pause(scenario.delay):
                return
            if not await exchange.write(frame):
                return
        usage = scenario.usage or _counted(prompt_tokens, len(scenario.chunks), len(scenario.reasoning))
        await _write_all(exchange, fmt.closing(scenario.finish, usage))
        return
    if isinstance(scenario, ToolCalls):
        frames = [fmt.reasoning(piece, scenario.reasoning_field) for piece in scenario.reasoning]
        frames += [fmt.text(chunk) for chunk in (words(scenario.text) if scenario.text else [])]
        frames += fmt.tool_calls(scenario.calls, scenario.fragment_size)
        for frame in frames:
            if not await exchange.write(frame) or not await exchange.pause(0):
                return
        usage = scenario.usage or _counted(prompt_tokens, len(frames) - len(scenario.reasoning), len(scenario.reasoning))
        await _write_all(exchange, fmt.closing("tool_calls", usage))
        return
    for chunk in echo[: scenario.after_chunks]:
        await exchange.write(fmt.text(chunk))
    if isinstance(scenario, Hang):
        await exchange.gone.wait()
    elif isinstance(scenario, Disconnect):
        await asyncio.sleep(0.01)  # let the chunks leave before the socket is cut
        raise AbruptClose
    elif isinstance(scenario, Malformed):
        await exchange.write(fmt.garbage)
        await exchange.end()


def _counted(prompt: int, content: int, reasoning: int) -> tuple[int, int] | tuple[int, int, int]:
    """The default usage: a token per frame, and the reasoning ones apart when there are any."""
    return (prompt, content + reasoning, reasoning) if reasoning else (prompt, content)


async def _write_all(exchange: Exchange, frames: list[bytes]) -> None:
    for frame in frames[:-1]:
        await exchange.write(frame)
    await exchange.end(frames[-1] if frames else b"")


def fragments(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters (at least one piece)."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
