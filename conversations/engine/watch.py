"""The one way to follow a run, for every surface: SSE, WebSocket, the seed route, process_conversation.

``watch_run(run_id, after_seq=k)`` yields the ``RunEvent``s of the run's current segment
with seq > k, in order, each once, until the segment ends (a terminal status or
requires_action): replayed first (whatever happened before the call), then live, with no
gap and no repeat between the two. It reads the local event log when this process executes
the run (or still keeps its log), follows the owner over the channel layer when another
process executes it, and replays stored state (``engine/replay.py``) when nobody does any
more. A client that already saw the whole segment gets its final event once more (the
outcome), so asking from the end still answers how it ended. Surfaces serialise what they
get and de-duplicate nothing themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from channels.layers import get_channel_layer

from conversations.engine import remote
from conversations.engine.db import db
from conversations.engine.events import SEGMENT_END, RunEvent
from conversations.engine.replay import load_replay

LOCAL_IDLE_SECONDS = 10.0
REMOTE_IDLE_SECONDS = 3.0
QUEUED_POLL_SECONDS = 0.1
MAX_WATCH_SECONDS = 3 * 3600  # hard bound on any watch

__all__ = ["SEGMENT_END", "watch_run"]


async def watch_run(run_id: str, *, after_seq: int = 0, coalesce: bool = False) -> AsyncIterator[RunEvent]:
    """The run's events after ``after_seq`` until its current segment ends (module docstring).

    ``coalesce`` (SSE and WebSocket clients): a watcher that falls behind the local log gets
    waiting text deltas merged (``RunStream.iterate``; docs/streaming.md)."""
    from conversations.engine.runtime import runtime

    last = after_seq
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + MAX_WATCH_SECONDS
    while loop.time() < give_up_at:
        stream = runtime.local_stream(run_id)
        if stream is not None and (runtime.is_local(run_id) or stream.last_seq > last):
            async for event in stream.iterate(last, idle_timeout=LOCAL_IDLE_SECONDS, coalesce=coalesce):
                last = event.seq
                yield event
                if event.ends_segment:
                    return
            if runtime.is_local(run_id):
                continue  # idle but still running here: keep waiting
        run, replay = await db(load_replay, run_id)
        if run is None:
            return
        if replay is not None:
            for event in replay.after(last):
                yield event
            return
        if run.lease_owner and run.lease_owner != runtime.owner:
            async for event in _follow_remote(run_id, last):
                last = event.seq
                yield event
                if event.ends_segment:
                    return
            continue
        await asyncio.sleep(QUEUED_POLL_SECONDS)  # queued, about to be claimed


async def _follow_remote(run_id: str, after_seq: int) -> AsyncIterator[RunEvent]:
    """Events from the process that owns the run, with gap detection and re-sync."""
    layer = get_channel_layer()
    channel = await layer.new_channel()  # the default prefix: see ControlListener.listen
    await layer.group_add(remote.run_group(run_id), channel)
    last = after_seq
    try:
        await remote.subscribe(run_id, channel, last)
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), REMOTE_IDLE_SECONDS)
            except TimeoutError:
                return  # the caller re-checks stored state (owner gone? run over?)
            events = [RunEvent.from_wire(item) for item in message.get("events") or ()]
            if events and events[0].seq > last + 1 and not message.get("snapshot"):
                await remote.subscribe(run_id, channel, last)  # a gap: ask the owner again
                continue
            for event in events:
                if event.seq <= last:
                    continue  # already had it (a snapshot reply overlaps the batches)
                last = event.seq
                yield event
                if event.ends_segment:
                    return
            if message.get("snapshot") and message.get("closed"):
                return
    finally:
        try:
            await layer.group_discard(remote.run_group(run_id), channel)
        except Exception:  # noqa: BLE001
            pass
