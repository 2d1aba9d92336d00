"""Running ORM work from the engine's async code without blocking the loop.

Engine writes run in the default thread pool (not asgiref's single thread-sensitive
thread) so one slow query does not stall every request; a connection broken under us
(database restarted) is dropped and the call retried once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import OperationalError, InterfaceError, close_old_connections, connection

T = TypeVar("T")

RETRY_DELAY_SECONDS = 0.5


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
    return await loop.run_in_executor(None, functools.partial(_call, fn, *args, **kwargs))
