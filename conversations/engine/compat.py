"""The seed's `InferenceFactory.get_inference(type).process_conversation(...)`, on top of the engine.

It yields the reply's text chunks of ``run_id``, answered by the backend it was called on
(not the one the run's model routes to); a run still queued is handed to the engine first.
The sync generator serves sync callers (scripts, management commands);
``aprocess_conversation`` serves async ones. ``install()`` (called when Django starts)
plugs both into ``inference.backends.base``, which may not import this layer.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator

from conversations.engine.runtime import runtime
from conversations.engine.watch import watch_run
from inference.backends.base import install_conversation_runner

CHUNK_WAIT_SECONDS = 600.0
_END = object()


async def aprocess_conversation(inference=None, *, thread_id: str, message_id: str, run_id: str,
                                assistant_id: str, user_message: str) -> AsyncIterator[str]:
    """The text chunks of ``run_id``'s reply, from ``inference`` (a backend) if given."""
    runtime.submit(run_id, inference)  # when it already executes: uses ``inference`` if not too late
    async for event in watch_run(run_id):
        text = event.text()
        if text:
            yield text


def process_conversation(inference=None, *, thread_id: str, message_id: str, run_id: str, assistant_id: str,
                         user_message: str) -> Iterator[str]:
    """The sync twin of ``aprocess_conversation`` (the engine's loop does the work)."""
    chunks: queue.Queue = queue.Queue()

    async def pump() -> None:
        try:
            async for text in aprocess_conversation(inference, thread_id=thread_id, message_id=message_id,
                                                    run_id=run_id, assistant_id=assistant_id,
                                                    user_message=user_message):
                chunks.put(text)
        finally:
            chunks.put(_END)

    loop = runtime._ensure_loop()
    future = asyncio.run_coroutine_threadsafe(pump(), loop)
    try:
        while True:
            item = chunks.get(timeout=CHUNK_WAIT_SECONDS)
            if item is _END:
                break
            yield item
        future.result(timeout=5)
    finally:
        future.cancel()


def install() -> None:
    """Make ``InferenceBackend.process_conversation`` run on this engine."""
    install_conversation_runner(process=process_conversation, aprocess=aprocess_conversation)
