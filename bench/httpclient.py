"""A minimal HTTP/1.1 client on an asyncio Protocol: keep-alive, chunked bodies, SSE parsing.

The load generator shares the machine with everything it measures, so it must be cheap
per event: responses are parsed inside ``data_received`` (no coroutine, no task, no
h11 state machine per chunk), each chunk is handed on with the time it arrived, and SSE
is split on blank lines. Every request runs under one deadline; any error closes the
connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

DEFAULT_TIMEOUT = 30.0
_clock = time.perf_counter

# Parser states
_HEAD, _SIZE, _DATA, _TRAILER, _LENGTH, _EOF, _DONE = range(7)


class HttpError(ValueError):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    sent_at: float = 0.0
    done_at: float = 0.0

    def json(self):
        import json

        return json.loads(self.body)


class _Exchange:
    """One response being parsed; ``done`` resolves with the Response or an exception."""

    __slots__ = ("method", "on_data", "chunks", "state", "need", "status", "headers", "done", "close_after")

    def __init__(self, method: str, on_data, loop: asyncio.AbstractEventLoop):
        self.method = method
        self.chunks: list[bytes] = []
        self.on_data = on_data if on_data is not None else (lambda data, _t: self.chunks.append(data))
        self.state = _HEAD
        self.need = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.done = loop.create_future()
        self.close_after = False

    def finish(self) -> None:
        self.state = _DONE
        if not self.done.done():
            self.done.set_result(None)

    def fail(self, exc: BaseException) -> None:
        self.state = _DONE
        if not self.done.done():
            self.done.set_exception(exc)

    def feed(self, buf: bytearray, t: float) -> None:
        """Consume what ``buf`` holds (bytes stay in ``buf`` until a whole unit is there)."""
        while True:
            state = self.state
            if state == _DATA:
                need = self.need
                if len(buf) < need + 2:
                    return
                self.on_data(bytes(buf[:need]), t)
                del buf[:need + 2]
                self.state = _SIZE
            elif state == _SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buf[:end]).split(b";", 1)[0], 16)
                del buf[:end + 2]
                if size:
                    self.need, self.state = size, _DATA
                else:
                    self.state = _TRAILER
            elif state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                self._head(bytes(buf[:end]).decode("latin-1"))
                del buf[:end + 4]
            elif state == _TRAILER:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[:end + 2]
                if end == 0:
                    self.finish()
                    return
            elif state == _LENGTH:
                if len(buf) < self.need:
                    return
                if self.need:
                    self.on_data(bytes(buf[:self.need]), t)
                del buf[:self.need]
                self.finish()
                return
            elif state == _EOF:
                if buf:
                    self.on_data(bytes(buf), t)
                    buf.clear()
                return
            else:
                return

    def _head(self, text: str) -> None:
        status_line, *lines = text.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"not an HTTP response: {status_line!r}")
        self.status = int(parts[1])
        for line in lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.close_after = self.headers.get("connection", "").lower() == "close"
        if "chunked" in self.headers.get("transfer-encoding", ""):
            self.state = _SIZE
        elif "content-length" in self.headers:
            self.need, self.state = int(self.headers["content-length"]), _LENGTH
        elif self.status in (204, 304) or self.method == "HEAD":
            self.need, self.state = 0, _LENGTH
        else:
            self.state, self.close_after = _EOF, True


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.exchange: _Exchange | None = None
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        self.buffer += data
        if exchange is None:
            return
        try:
            exchange.feed(self.buffer, _clock())
        except Exception as exc:  # noqa: BLE001 - a malformed response fails its request
            exchange.fail(exc)

    def connection_lost(self, exc) -> None:
        self.lost = True
        exchange = self.exchange
        if exchange is not None:
            if exchange.state == _EOF:
                exchange.finish()
            else:
                exchange.fail(exc or asyncio.IncompleteReadError(bytes(self.buffer), None))


class Connection:
    """One keep-alive connection to ``host:port`` (opened on first use, reopened after errors)."""

    def __init__(self, host: str, port: int, default_headers: dict | None = None):
        self.host, self.port = host, port
        self.default_headers = dict(default_headers or {})
        self.protocol: _Protocol | None = None

    @property
    def is_open(self) -> bool:
        return self.protocol is not None and not self.protocol.lost

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        _transport, self.protocol = await loop.create_connection(_Protocol, self.host, self.port)

    async def close(self) -> None:
        protocol, self.protocol = self.protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
                      on_data: Callable[[bytes, float], None] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> Response:
        """Send one request; body chunks go to ``on_data(bytes, t)`` as they arrive (else into the body)."""
        try:
            async with asyncio.timeout(timeout):
                return await self._request(method, path, body, headers, on_data)
        except BaseException:
            await self.close()
            raise

    async def _request(self, method, path, body, headers, on_data) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in {**self.default_headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        request = head + body if body else head
        reused = self.is_open
        for attempt in (1, 2):
            if not self.is_open:
                await self._open()
            exchange, sent_at = self._send(method, request, on_data)
            try:
                await exchange.done
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                if not reused or attempt == 2 or exchange.status:
                    raise
                # The server closed this idle keep-alive connection before reading the request
                # (uvicorn's keep-alive timeout is 5 s): nothing was processed; send it again.
                await self.close()
        protocol = self.protocol
        protocol.exchange = None
        if exchange.close_after or protocol.lost:
            await self.close()
        return Response(exchange.status, exchange.headers, b"".join(exchange.chunks), sent_at, _clock())

    def _send(self, method: str, request: bytes, on_data) -> tuple[_Exchange, float]:
        protocol = self.protocol
        protocol.buffer.clear()
        exchange = protocol.exchange = _Exchange(method, on_data, asyncio.get_running_loop())
        sent_at = _clock()
        protocol.transport.write(request)
        return exchange, sent_at


class SSEParser:
    """Splits a byte stream into ``(event, data)`` messages (``event`` is "" when absent)."""

    __slots__ = ("buffer",)

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        if self.buffer:
            data = self.buffer + data
        *blocks, self.buffer = data.split(b"\n\n")
        messages = []
        for block in blocks:
            if not block:
                continue
            event, payload = "", []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    payload.append(line[6:] if line[5:6] == b" " else line[5:])
                elif line.startswith(b"event:"):
                    event = line[6:].strip().decode()
            messages.append((event, b"\n".join(payload)))
        return messages


class Pool:
    """A small pool of keep-alive connections to one origin, for setup calls."""

    def __init__(self, host: str, port: int, headers: dict | None = None):
        self.host, self.port, self.headers = host, port, dict(headers or {})
        self.idle: list[Connection] = []

    def take(self) -> Connection:
        return self.idle.pop() if self.idle else Connection(self.host, self.port, self.headers)

    def give(self, connection: Connection) -> None:
        if connection.is_open:
            self.idle.append(connection)

    async def request(self, method: str, path: str, **kwargs) -> Response:
        connection = self.take()
        try:
            return await connection.request(method, path, **kwargs)
        finally:
            self.give(connection)

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        await asyncio.gather(*(c.close() for c in idle), return_exceptions=True)
