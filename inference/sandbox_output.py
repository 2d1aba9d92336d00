"""stdout and stderr of a sandbox, read as they arrive under one byte budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

READ_CHUNK = 64 * 1024


class OutputBudget:
    """stdout and stderr under one byte budget; past it, the sandbox is stopped."""

    def __init__(self, limit: int, *, on_overflow: Callable[[], None]):
        self.limit = limit
        self.used = 0
        self.truncated = False
        self._on_overflow = on_overflow
        self._chunks = {"stdout": bytearray(), "stderr": bytearray()}
        self._overflowed: str | None = None

    async def drain(self, stream: asyncio.StreamReader, name: str) -> None:
        while chunk := await stream.read(READ_CHUNK):
            room = self.limit - self.used
            self._chunks[name] += chunk[: max(room, 0)]
            self.used += min(len(chunk), max(room, 0))
            if len(chunk) > room and not self.truncated:
                # Stopping (not draining to the end) keeps a runaway printer from costing
                # the server's event loop CPU for the whole time limit.
                self.truncated = True
                self._overflowed = name
                self._on_overflow()

    def text(self, name: str) -> str:
        text = self._chunks[name].decode("utf-8", errors="replace")
        if self._overflowed == name:
            text += f"\n[output truncated after {self.limit} bytes; the program was stopped]\n"
        return text
