"""What happens after a run completes, beside it: callbacks the apps register (``ready()``).

The engine knows no service; a service that wants to act on a completed run (the
model-written title, ``conversations/services/titles.py``) registers a coroutine function
here. Each is started as its own task on the engine's loop once the run's completion is
stored and announced, so it never delays the reply, and its failure is logged, never raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Callback = Callable[[str], Awaitable[None]]

_callbacks: list[Callback] = []
_tasks: set[asyncio.Task] = set()  # held, so a running callback is not garbage-collected


def on_run_completed(callback: Callback) -> None:
    """Call ``await callback(run_id)`` after each completed run (registering twice is once)."""
    if callback not in _callbacks:
        _callbacks.append(callback)


def run_completed(run_id: str) -> None:
    """Start the callbacks for ``run_id`` on the running loop, without waiting for them."""
    loop = asyncio.get_running_loop()
    for callback in _callbacks:
        task = loop.create_task(callback(run_id), name=f"after-{run_id}")
        _tasks.add(task)
        task.add_done_callback(_done)


def _done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("after-completion task %s failed", task.get_name(), exc_info=task.exception())

