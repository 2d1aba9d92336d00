"""A minimal HTTP/1.1 client on asyncio streams: keep-alive, chunked bodies, SSE parsing.

The load generator shares the machine with everything it measures, so it must be cheap
per event: no httpx/h11 state machine, one buffered read per chunk, SSE split on blank
lines. Every request runs under one deadline; any error closes the connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_TIMEOUT = 30.0


class HttpError(Exception):
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


@dataclass
class Connection:
    """One keep-alive connection to ``host:port`` (opened on first use, reopened after errors)."""

    host: str
    port: int
    default_headers: dict[str, str] = field(default_factory=dict)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError, asyncio.CancelledError):
                pass

    async def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
                      on_data: Callable[[bytes, float], None] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> Response:
        """Send one request; chunks of a chunked body go to ``on_data(bytes, t)`` as they arrive."""
        try:
            async with asyncio.timeout(timeout):
                return await self._request(method, path, body, headers, on_data)
        except BaseException:
            await self.close()
            raise

    async def _request(self, method, path, body, headers, on_data) -> Response:
        reused = self.writer is not None
        if not reused:
            await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in {**self.default_headers, **(headers or {})}.items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        request = head + body if body else head
        sent_at = time.perf_counter()
        self.writer.write(request)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # The server closed this idle keep-alive connection before reading the request
            # (uvicorn's keep-alive timeout is 5 s): nothing was processed; send it again.
            await self.close()
            await self._open()
            sent_at = time.perf_counter()
            self.writer.write(request)
            raw = await self.reader.readuntil(b"\r\n\r\n")
        reader = self.reader
        status_line, *header_lines = raw[:-4].decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"not an HTTP response: {status_line!r}")
        status = int(parts[1])
        response_headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        chunks: list[bytes] = []
        keep = on_data if on_data is not None else (lambda data, _t: chunks.append(data))
        clock = time.perf_counter
        if "chunked" in response_headers.get("transfer-encoding", ""):
            readuntil, readexactly = reader.readuntil, reader.readexactly
            while True:
                size = int((await readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    await readuntil(b"\r\n")
                    break
                data = await readexactly(size + 2)
                keep(data[:-2], clock())
        elif "content-length" in response_headers:
            length = int(response_headers["content-length"])
            if length:
                keep(await reader.readexactly(length), clock())
        elif status not in (204, 304) and method != "HEAD":
            while data := await reader.read(1 << 16):
                keep(data, clock())
            await self.close()
        if response_headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, response_headers, b"".join(chunks), sent_at, clock())


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
    """A small pool of keep-alive connections to one origin, for closed-loop request workers."""

    def __init__(self, host: str, port: int, headers: dict | None = None):
        self.host, self.port, self.headers = host, port, dict(headers or {})
        self.idle: list[Connection] = []

    def take(self) -> Connection:
        return self.idle.pop() if self.idle else Connection(self.host, self.port, dict(self.headers))

    def give(self, connection: Connection) -> None:
        if connection.writer is not None:
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
