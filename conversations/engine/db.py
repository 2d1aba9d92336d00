"""Running ORM work from the engine's async code without blocking the loop.

Engine writes run in the engine's own thread pool (not asgiref's single thread-sensitive
thread, so one slow query does not stall every request; not the loop's default pool, which
sync tools and other libraries share). Each worker keeps one database connection, so the
engine holds at most DB_THREADS connections per process, whatever the number of event
loops it served (tests start one per live server); ``close_pool()`` ends the workers and
with them their connections. A connection broken under us (database restarted) is dropped
and the call retried once.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections

T = TypeVar("T")

RETRY_DELAY_SECONDS = 0.5
DB_THREADS = min(32, (os.cpu_count() or 1) + 4)  # the size asyncio's default pool would have

CLOSE_TIMEOUT_SECONDS = 10.0


class _Pool:
    """The worker threads, counted so that ``close`` can reach each of them."""

    def __init__(self) -> None:
        self.threads = 0
        self._lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="entities-db",
                                           initializer=self._started)

    def _started(self) -> None:
        with self._lock:
            self.threads += 1

    def close(self) -> None:
        with self._lock:
            threads = self.threads
        if threads:
            barrier = threading.Barrier(threads)
            for _ in range(threads):
                self.executor.submit(_close_in_worker, barrier)
        self.executor.shutdown(wait=True)


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
        return _pool.executor


def _close_in_worker(barrier: threading.Barrier) -> None:
    connections.close_all()
    try:
        # Holding each worker here until all have arrived puts one close on every thread.
        barrier.wait(CLOSE_TIMEOUT_SECONDS)
    except threading.BrokenBarrierError:
        pass


def close_pool() -> None:
    """Close every worker's connection and end the workers (blocking; server shutdown, tests).

    Closed explicitly: a connection object is in reference cycles, so a worker thread that
    merely ended would keep its connection open until the garbage collector ran.
    The next ``db()`` call starts a new pool.
    """
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        # A dead connection (server restart, network blip): reconnect once, then give up.
        connection.close()
        import time

        time.sleep(RETRY_DELAY_SECONDS)
        close_old_connections()
        return fn(*args, **kwargs)


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` (sync ORM code) in a worker thread and await it."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(_call, fn, *args, **kwargs))
