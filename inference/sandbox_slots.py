"""How many sandboxes one server process runs at once; the rest wait their turn.

Each sandbox holds up to ``CODE_INTERPRETER_DISK_MB`` of RAM in its tmpfs and up to
``CODE_INTERPRETER_MAX_PROCESSES`` busy processes, and a turn's tool calls run together, so
without a bound a few users could start hundreds at once. The bound is per process, shared
by every event loop in it (the run engine and ``async_to_sync`` may use different loops),
hence a thread lock and loop-safe wake-ups rather than an ``asyncio.Semaphore``.
"""

from __future__ import annotations

import asyncio
import threading


class SandboxSlots:
    """A counting semaphore usable from any event loop, with a timeout on the wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    @property
    def running(self) -> int:
        """Sandboxes holding a slot now."""
        return self._running

    async def acquire(self, limit: int, timeout_s: float) -> bool:
        """Take a slot when fewer than ``limit`` are taken; False if none freed within ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            with self._lock:
                if self._running < limit:
                    self._running += 1
                    return True
                waiter = loop.create_future()
                self._waiters.append((loop, waiter))
            try:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return False
            finally:
                with self._lock:
                    if (loop, waiter) in self._waiters:
                        self._waiters.remove((loop, waiter))

    def release(self) -> None:
        """Give a slot back and wake every waiter (each re-checks; a handful at most)."""
        with self._lock:
            self._running -= 1
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            try:
                loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:  # that loop is closed; its waiter is gone with it
                pass


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


SLOTS = SandboxSlots()
