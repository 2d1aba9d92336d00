"""The seed's `inference.process_conversation(...)`, on top of the engine.

It yields the reply's text chunks of ``run_id``; if the run is still queued it is handed
to the engine first. The sync generator serves sync callers (scripts, management
commands); ``aprocess_conversation`` serves async ones.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator

from conversations.engine.watch import watch_run

CHUNK_WAIT_SECONDS = 600.0
_END = object()


async def aprocess_conversation(inference=None, *, thread_id: str, message_id: str, run_id: str,
                                assistant_id: str, user_message: str) -> AsyncIterator[str]:
    from conversations.engine.runtime import runtime

    runtime.submit(run_id)  # a no-op when it is already executing
    streamed: set[str] = set()  # messages whose deltas we saw
    async for _, name, data in watch_run(run_id):
        if name == "thread.message.delta":
            streamed.add(data["id"])
            for part in data["delta"].get("content", []):
                text = part.get("text", {}).get("value")
                if text:
                    yield text
        elif name in ("thread.message.completed", "thread.message.incomplete") and data["id"] not in streamed:
            # Replayed from stored state (the run ended before we watched, or elsewhere):
            # no deltas come for this message, so its whole text is the chunk.
            text = "".join(p.get("text", {}).get("value", "") for p in data.get("content") or []
                           if p.get("type") == "text")
            if text:
                yield text


def process_conversation(inference=None, *, thread_id: str, message_id: str, run_id: str, assistant_id: str,
                         user_message: str) -> Iterator[str]:
    from conversations.engine.runtime import runtime

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
