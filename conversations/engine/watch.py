"""Following a run from any surface: SSE, WebSocket, the seed route, process_conversation.

``watch_run`` yields the run's events after a sequence number until its current segment
ends (a terminal status or requires_action). It reads the local event log when this
process executes the run, follows the owner over the channel layer when another process
does, and falls back to a snapshot of stored state when nobody does any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from channels.layers import get_channel_layer

from conversations.engine import remote
from conversations.engine.db import db
from conversations.engine.events import Event
from conversations.models import Message, Run
from conversations.presenters import message_object, run_object

SEGMENT_END = frozenset({
    "thread.run.completed", "thread.run.failed", "thread.run.cancelled", "thread.run.expired",
    "thread.run.incomplete", "thread.run.requires_action",
})
LOCAL_IDLE_SECONDS = 10.0
REMOTE_IDLE_SECONDS = 3.0
QUEUED_POLL_SECONDS = 0.1
MAX_WATCH_SECONDS = 3 * 3600  # hard bound on any watch


def _snapshot(run_id: str) -> tuple[Run | None, list[Message]]:
    run = Run.objects.filter(pk=run_id).first()
    messages = list(Message.objects.filter(run_id=run_id, role="assistant")) if run else []
    return run, messages


def snapshot_events(run: Run, messages: list[Message]) -> list[Event]:
    """The stored outcome of a run segment, for a watcher that missed the live events."""
    seq = run.event_seq
    events: list[Event] = []
    for message in messages:
        name = "thread.message.incomplete" if message.status == "incomplete" else "thread.message.completed"
        events.append((seq, name, message_object(message)))
    events.append((seq, f"thread.run.{run.status}", run_object(run)))
    return events


async def watch_run(run_id: str, *, after_seq: int = 0) -> AsyncIterator[Event]:
    from conversations.engine.runtime import runtime

    last = after_seq
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + MAX_WATCH_SECONDS
    while loop.time() < give_up_at:
        stream = runtime.local_stream(run_id)
        if stream is not None and (runtime.is_local(run_id) or stream.last_seq > last):
            async for event in stream.iterate(last, idle_timeout=LOCAL_IDLE_SECONDS):
                last = event[0]
                yield event
                if event[1] in SEGMENT_END:
                    return
            if runtime.is_local(run_id):
                continue  # idle but still running here: keep waiting
        run, messages = await db(_snapshot, run_id)
        if run is None:
            return
        if run.is_terminal or run.status == Run.Status.REQUIRES_ACTION:
            if last < run.event_seq or last == after_seq:
                for event in snapshot_events(run, messages):
                    yield event
            return
        if run.lease_owner and run.lease_owner != runtime.owner:
            async for event in _follow_remote(run_id, last):
                last = event[0]
                yield event
                if event[1] in SEGMENT_END:
                    return
            continue
        await asyncio.sleep(QUEUED_POLL_SECONDS)  # queued, about to be claimed


async def _follow_remote(run_id: str, after_seq: int) -> AsyncIterator[Event]:
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
            events = message.get("events") or []
            if events and events[0][0] > last + 1 and not message.get("snapshot"):
                await remote.subscribe(run_id, channel, last)  # a gap: ask the owner again
                continue
            for seq, name, data in events:
                if seq <= last:
                    continue
                last = seq
                yield (seq, name, data)
                if name in SEGMENT_END:
                    return
            if message.get("snapshot") and message.get("closed"):
                return
    finally:
        try:
            await layer.group_discard(remote.run_group(run_id), channel)
        except Exception:  # noqa: BLE001
            pass
