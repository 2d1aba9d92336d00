"""The engine across processes, through the channel layer.

- Control: the process executing a run keeps its engine channel in the group
  ``runctl.<run_id>``; other processes send it stop requests and subscriptions there.
- Fan-out: only once a watcher in another process subscribed, the owner publishes the
  run's events to ``run.<run_id>`` in batches (the first delta at once, later ones
  coalesced for a few ms), through one sender task per run so batches keep their order.
- Thread notices: run start and end go to ``thread.<thread_id>`` for WebSocket clients.
A watcher detects a gap in sequence numbers (a channel that overflowed) and asks the
owner again for everything after the last event it has, so no text is silently lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from channels.layers import channel_layers, get_channel_layer

from conversations.engine.events import RunEvent
from conversations.engine.stream import RunStream

log = logging.getLogger(__name__)

BATCH_WINDOW_SECONDS = 0.025
BATCH_MAX_EVENTS = 64
# Run events announced to the thread's group; not step events, whose status is the step's.
THREAD_NOTICE_EVENTS = frozenset(f"thread.run.{status}" for status in (
    "created", "in_progress", "requires_action", "completed", "failed", "cancelled", "expired", "incomplete"))
LIFECYCLE_PREFIXES = ("thread.run.", "thread.message.created", "thread.message.completed", "thread.message.incomplete")


def control_group(run_id: str) -> str:
    return f"runctl.{run_id}"


def run_group(run_id: str) -> str:
    return f"run.{run_id}"


def thread_group(thread_id: str) -> str:
    return f"thread.{thread_id}"


def reset_layer_for_new_loop() -> None:
    """Drop cached channel layers: the in-memory layer's queues belong to one event loop."""
    channel_layers.backends.clear()


def _is_delta(name: str) -> bool:
    return name.endswith(".delta")


class Fanout:
    """Batches one run's events to its channel-layer group, in order."""

    def __init__(self, stream: "RunStream", loop: asyncio.AbstractEventLoop):
        self.stream = stream
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.pending: list[RunEvent] = []
        self.timer: asyncio.TimerHandle | None = None
        self.last_flush = 0.0
        self.sender = loop.create_task(self._send_forever(), name=f"fanout-{stream.run_id}")

    def add(self, event: RunEvent) -> None:
        self.pending.append(event)
        if not _is_delta(event.name) or len(self.pending) >= BATCH_MAX_EVENTS:
            self.flush()
        elif self.timer is None:
            wait = self.last_flush + BATCH_WINDOW_SECONDS - self.loop.time()
            # The first delta after a quiet period goes out at once; later ones are batched.
            self.timer = self.loop.call_later(max(wait, 0.0), self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pending:
            self.queue.put_nowait(self.pending)
            self.pending = []
            self.last_flush = self.loop.time()
        if self.stream.closed:
            self.queue.put_nowait(None)

    def reply(self, channel: str, message: dict) -> None:
        """Send ``message`` to one watcher, in order with the group batches."""
        self.flush()
        self.queue.put_nowait((channel, message))

    async def _send_forever(self) -> None:
        layer = get_channel_layer()
        group = run_group(self.stream.run_id)
        while True:
            item = await self.queue.get()
            if item is None:
                return
            try:
                if isinstance(item, tuple):
                    await layer.send(item[0], item[1])
                else:
                    await layer.group_send(group, {"type": "run.events", "run_id": self.stream.run_id,
                                                   "events": [e.to_wire() for e in item]})
            except Exception:  # noqa: BLE001 - watchers recover from stored state
                log.warning("could not publish events of %s", self.stream.run_id, exc_info=True)


def attach_fanout(stream: "RunStream", loop: asyncio.AbstractEventLoop) -> None:
    """Give a new local stream its channel-layer hook (inactive until a remote subscribes)."""

    def on_append(event: RunEvent) -> None:
        fanout = getattr(stream, "fanout", None)
        if fanout is not None:
            fanout.add(event)
            if stream.closed:
                fanout.flush()
        if event.name in THREAD_NOTICE_EVENTS:
            data = event.data
            loop.create_task(_thread_notice(data.get("thread_id", ""), stream.run_id, data.get("status", ""),
                                                    event.seq))

    stream.on_append = on_append


async def _thread_notice(thread_id: str, run_id: str, status: str, seq: int) -> None:
    if not thread_id:
        return
    try:
        # ``seq`` lets a watcher tell a new segment (a run continued elsewhere) from a
        # late notice about one it already relayed.
        await get_channel_layer().group_send(thread_group(thread_id), {"type": "thread.run", "run_id": run_id,
                                                                        "status": status, "seq": seq})
    except Exception:  # noqa: BLE001
        log.debug("thread notice for %s not sent", run_id, exc_info=True)


def _activate_fanout(stream: "RunStream", loop: asyncio.AbstractEventLoop) -> None:
    if getattr(stream, "fanout", None) is None:
        stream.fanout = Fanout(stream, loop)


class ControlListener:
    """Receives stop and subscribe requests addressed to runs this process executes.

    The runtime hands it what it needs (it imports nothing of the runtime): ``stop(run_id,
    reason)``, ``local_stream(run_id)``, ``local_ids()`` and the loop.
    """

    def __init__(self, *, stop: Callable[[str, str], object], local_stream: Callable[[str], RunStream | None],
                 local_ids: Callable[[], Iterable[str]], loop: asyncio.AbstractEventLoop):
        self.stop, self.local_stream, self.local_ids, self.loop = stop, local_stream, local_ids, loop
        self.channel: str | None = None

    async def listen(self) -> None:
        layer = get_channel_layer()
        # The default prefix: channels_redis receives every process-local channel through
        # one BZPOPMIN on "specific.<process>!" under one lock; a channel with its own prefix
        # would wait for that lock (up to brpop_timeout) before each message.
        self.channel = await layer.new_channel()
        for run_id in list(self.local_ids()):
            await layer.group_add(control_group(run_id), self.channel)
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a layer hiccup must not end the listener
                log.warning("engine control channel error", exc_info=True)
                await asyncio.sleep(1)
                continue
            self.handle(message)

    def handle(self, message: dict) -> None:
        kind, run_id = message.get("type"), message.get("run_id", "")
        if kind == "engine.stop":
            self.stop(run_id, message.get("reason", "cancelled"))
        elif kind == "engine.subscribe":
            stream = self.local_stream(run_id)
            if stream is None:
                return
            events = [e.to_wire() for e in stream.since(int(message.get("after_seq", 0)))]
            reply = {"type": "run.events", "run_id": run_id, "events": events, "closed": stream.closed,
                     "snapshot": True}
            if stream.closed:
                self.loop.create_task(get_channel_layer().send(message["reply"], reply))
                return
            _activate_fanout(stream, self.loop)
            stream.fanout.reply(message["reply"], reply)


async def join_control(control: ControlListener | None, run_id: str) -> None:
    if control is not None and control.channel:
        try:
            await get_channel_layer().group_add(control_group(run_id), control.channel)
        except Exception:  # noqa: BLE001
            log.warning("could not join control group of %s", run_id, exc_info=True)


async def leave_control(control: ControlListener | None, run_id: str) -> None:
    if control is not None and control.channel:
        try:
            await get_channel_layer().group_discard(control_group(run_id), control.channel)
        except Exception:  # noqa: BLE001
            pass


async def send_stop(run_id: str, reason: str) -> None:
    """Ask whichever process executes ``run_id`` to stop it (the stored status is the fallback)."""
    try:
        await get_channel_layer().group_send(control_group(run_id), {"type": "engine.stop", "run_id": run_id,
                                                                     "reason": reason})
    except Exception:  # noqa: BLE001
        log.warning("stop request for %s not delivered; the lease check will see the stored status", run_id)


async def subscribe(run_id: str, reply_channel: str, after_seq: int) -> None:
    await get_channel_layer().group_send(control_group(run_id), {
        "type": "engine.subscribe", "run_id": run_id, "after_seq": after_seq, "reply": reply_channel})
