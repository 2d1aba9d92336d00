"""The engine runtime of one server process.

It binds to the process's event loop (the ASGI server's), starts run executors as
tasks, renews their leases, sweeps runs whose owner died or whose time ran out, and
listens on the channel layer for cancels and subscriptions from other processes.
Nothing here assumes a single process: ownership is the lease stored on the run.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import secrets
import socket
import threading

from django.conf import settings
from django.utils import timezone

from conversations.engine import remote, sweeper
from conversations.engine.db import close_pool, db
from conversations.engine.executor import RunExecutor
from conversations.engine.store import checkpoint_messages, renew_leases, status_of
from conversations.engine.stream import RunStream
from kernel import metrics

log = logging.getLogger(__name__)

STREAM_RETENTION_SECONDS = 120.0  # a finished run's event log stays replayable this long
MAX_RETAINED_STREAMS = 5000
# Events of finished runs kept for replay, all runs together: without it 5000 retained logs
# of long replies held millions of events and the process grew with every run (issue 19).
MAX_RETAINED_EVENTS = 200_000
RESTART_STOP_SECONDS = 5.0  # how long ending the runs left at a restart may take


class Runtime:
    def __init__(self) -> None:
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.streams: dict[str, RunStream] = {}
        self.executors: dict[str, tuple[asyncio.Task, RunExecutor]] = {}
        self.background: list[asyncio.Task] = []
        self.control: remote.ControlListener | None = None
        self._fallback_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.draining = False  # set on SIGTERM/SIGINT: no new runs start here
        self._drain: asyncio.Task | None = None
        # Finished runs whose log is kept for replay, oldest first: run id -> (deadline, events).
        # One ordered dict instead of one timer per run, so nothing per run outlives the bound.
        self._retained: dict[str, tuple[float, int]] = {}
        self._retained_events = 0

    # -- loop binding ------------------------------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` for runs from now on (called by the ASGI app on every request; cheap)."""
        if self.loop is loop:
            return
        with self._lock:
            if self.loop is loop:
                return
            self.loop = loop
            self.streams.clear()
            self.executors.clear()
            self._retained.clear()
            self._retained_events = 0
            self.background = []
            self.draining, self._drain = False, None
            remote.reset_layer_for_new_loop()
        loop.call_soon_threadsafe(self._start_background)

    def _start_background(self) -> None:
        self.control = remote.ControlListener(stop=self._stop, local_stream=self.local_stream,
                                              local_ids=lambda: list(self.executors), loop=self.loop)
        from files.sweeper import sweep_forever as sweep_files  # expired files and orphaned bytes

        self.background = [
            self.loop.create_task(self._lease_loop(), name="entities-leases"),
            self.loop.create_task(self._sweep_loop(), name="entities-sweeper"),
            self.loop.create_task(self._checkpoint_loop(), name="entities-checkpoints"),
            self.loop.create_task(sweep_files(), name="entities-files-sweeper"),
            self.loop.create_task(self.control.listen(), name="entities-control"),
        ]

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        """The bound loop; without an ASGI server (management command, WSGI), a private one."""
        if self.loop is not None and self.loop.is_running():
            return self.loop
        with self._lock:
            if self._fallback_thread is None or not self._fallback_thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._fallback_thread = threading.Thread(target=serve, name="entities-engine", daemon=True)
                self._fallback_thread.start()
                ready.wait(5)
        self.bind(loop)
        return loop

    def in_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, fn, *args) -> None:
        """Run ``fn(*args)`` on the engine loop, from any thread."""
        if self.in_loop():
            fn(*args)
        else:
            # A fresh context: runs must not inherit the request's (its thread-sensitive
            # executor, for one, ends with the request).
            self._ensure_loop().call_soon_threadsafe(fn, *args, context=contextvars.Context())

    # -- runs ---------------------------------------------------------------------------
    def stream_for(self, run_id: str, thread_id: str = "") -> RunStream:
        """The run's local event log, created if absent (loop thread only)."""
        stream = self.streams.get(run_id)
        if stream is None:
            stream = self.streams[run_id] = RunStream(run_id, thread_id)
            remote.attach_fanout(stream, self.loop)
            if len(self.streams) > MAX_RETAINED_STREAMS:
                self._evict()
        return stream

    def local_stream(self, run_id: str) -> RunStream | None:
        return self.streams.get(run_id)

    def is_local(self, run_id: str) -> bool:
        return run_id in self.executors

    def submit(self, run_id: str, backend=None, *, run=None, request=None) -> None:
        """A run was queued (thread-safe): execute it in this process.

        ``backend`` (an inference backend) answers instead of the one the run's model routes
        to: the seed's ``get_inference(type).process_conversation(...)`` asks for it.
        ``run``: the run as stored, already claimed by this process at its creation
        (``state.create_claimed``), and ``request`` its first model request (or None): the
        executor starts on them without reading the run back.
        """
        self.call(self._start, run_id, backend, run, request)

    def _start(self, run_id: str, backend=None, run=None, request=None) -> None:
        if self.draining and run is None:
            return  # stays queued; its short lease runs out and the next process adopts it
        # (A run claimed at birth is this process's already: it runs, and the drain ends it.)
        entry = self.executors.get(run_id)
        if entry is not None:
            if backend is not None:
                entry[1].prefer_backend(backend)
            return
        stream = self.stream_for(run_id)
        stream.reopen()
        executor = RunExecutor(run_id, stream, owner=self.owner, backend=backend, run=run, request=request)
        task = self.loop.create_task(self._run(executor), name=f"run-{run_id}", context=contextvars.Context())
        self.executors[run_id] = (task, executor)
        metrics.ACTIVE_RUNS.inc()
        # The clean-up is the task's done callback, not a ``finally`` in its coroutine: a task
        # cancelled before its first step never runs its coroutine, but always calls back.
        task.add_done_callback(functools.partial(self._ended, run_id, executor))

    async def _run(self, executor: RunExecutor) -> None:
        await remote.join_control(self.control, executor.run_id)
        await executor.execute()

    def _ended(self, run_id: str, executor: RunExecutor, task: asyncio.Task) -> None:
        metrics.ACTIVE_RUNS.dec()
        entry = self.executors.get(run_id)
        if entry is not None and entry[0] is task:
            del self.executors[run_id]
        executor.stream.close()
        loop = task.get_loop()
        if loop.is_closed():
            return
        loop.create_task(remote.leave_control(self.control, run_id))
        self._retain(run_id, executor.stream, loop.time())

    def _retain(self, run_id: str, stream: RunStream, now: float) -> None:
        """Keep a finished run's log for replay, within the time and size bounds."""
        old = self._retained.pop(run_id, None)
        if old is not None:
            self._retained_events -= old[1]
        self._retained[run_id] = (now + STREAM_RETENTION_SECONDS, len(stream.events))
        self._retained_events += len(stream.events)
        self.trim_retained(now)

    def trim_retained(self, now: float) -> int:
        """Forget the logs of finished runs past their retention or over the bounds, oldest
        first (on every run's end and every sweep); returns how many it forgot."""
        forgotten = 0
        while self._retained:
            run_id, (deadline, count) = next(iter(self._retained.items()))
            if (deadline > now and self._retained_events <= MAX_RETAINED_EVENTS
                    and len(self._retained) <= MAX_RETAINED_STREAMS):
                break
            del self._retained[run_id]
            self._retained_events -= count
            stream = self.streams.get(run_id)
            if stream is not None and stream.closed and run_id not in self.executors:
                del self.streams[run_id]
                forgotten += 1
        return forgotten

    def _evict(self) -> None:
        for run_id in [r for r, s in self.streams.items() if s.closed and r not in self.executors][:500]:
            del self.streams[run_id]

    def request_stop(self, run_id: str, reason: str = "cancelled") -> None:
        """Stop a run (thread-safe): locally if we own it, else through the channel layer."""
        self.call(self._stop, run_id, reason)

    def _stop(self, run_id: str, reason: str) -> bool:
        entry = self.executors.get(run_id)
        if entry is None:
            self.loop.create_task(remote.send_stop(run_id, reason))
            return False
        task, executor = entry
        # An executor that has not started yet sees the request when it starts; cancelling
        # its task now could end it before its first step, with nothing stored.
        if executor.request_stop(reason) and executor.started:
            task.cancel()
        return True

    # -- background ----------------------------------------------------------------------
    async def _lease_loop(self) -> None:
        interval = max(settings.ENTITIES_RUN_LEASE_SECONDS / 3, 0.2)
        while True:
            await asyncio.sleep(interval)
            ids = list(self.executors)
            if not ids:
                continue
            try:
                stopped = await db(renew_leases, ids, owner=self.owner, lease_seconds=settings.ENTITIES_RUN_LEASE_SECONDS)
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.warning("could not renew run leases", exc_info=True)
                continue
            for run_id in stopped:
                entry = self.executors.get(run_id)
                # A run still being claimed is 'queued' in the database; leave it be.
                if entry and entry[1].run is not None and entry[1].run.status == "in_progress":
                    status = await db(status_of, run_id)
                    if status in ("cancelling", "cancelled"):
                        self._stop(run_id, "cancelled")
                    elif status in ("expired", "failed", "completed", "incomplete", None) and not entry[1].finishing:
                        self._stop(run_id, "ended_elsewhere")

    async def _checkpoint_loop(self) -> None:
        """Every ENTITIES_CHECKPOINT_SECONDS, store the text so far of every reply streaming here."""
        interval = settings.ENTITIES_CHECKPOINT_SECONDS
        if not interval:
            return
        while True:
            await asyncio.sleep(interval)
            await self.checkpoint()

    async def checkpoint(self) -> int:
        """One write for all of this process's streaming replies; returns how many it saved."""
        texts = dict(item for _, executor in list(self.executors.values()) if (item := executor.checkpoint()))
        if not texts:
            return 0
        try:
            return await db(checkpoint_messages, texts)
        except Exception:  # noqa: BLE001 - the database may be away for a moment; the next one catches up
            log.warning("could not checkpoint %d streaming replies", len(texts), exc_info=True)
            return 0

    async def _sweep_loop(self) -> None:
        """Every ENTITIES_SWEEP_INTERVAL_SECONDS: end abandoned runs, adopt queued ones, stop
        local runs past their expiry."""
        interval = settings.ENTITIES_SWEEP_INTERVAL_SECONDS
        while True:
            try:
                self.trim_retained(self.loop.time())  # a quiet process lets old logs go too
                result = await db(sweeper.sweep_once, local_ids=set(self.executors), owner=self.owner)
                for run_id in result["adopt"]:
                    self._start(run_id)  # (not while draining: _start refuses)
                if any(result[k] for k in ("failed", "cancelled", "expired")):
                    log.warning("sweeper ended runs: %s", {k: v for k, v in result.items() if v and k != "adopt"})
                now = timezone.now()
                for run_id, (_, executor) in list(self.executors.items()):
                    run = executor.run
                    if run is not None and run.expires_at is not None and run.expires_at < now:
                        self._stop(run_id, "expired")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.warning("sweep failed", exc_info=True)
            await asyncio.sleep(interval)

    # -- graceful restart ------------------------------------------------------------------
    def begin_drain(self, grace: float | None = None) -> asyncio.Task:
        """Stop taking runs and give the running ones ``grace`` seconds (default
        ENTITIES_SHUTDOWN_GRACE_SECONDS) to finish; then end what is left, its text kept
        (loop thread; the server calls it on SIGTERM/SIGINT). Idempotent: one drain per loop."""
        if self._drain is None:
            self.draining = True
            grace = settings.ENTITIES_SHUTDOWN_GRACE_SECONDS if grace is None else grace
            self._drain = self.loop.create_task(self._drain_runs(grace), name="entities-drain")
        return self._drain

    async def _drain_runs(self, grace: float) -> None:
        running = [task for task, _ in self.executors.values()]
        if running:
            log.warning("shutting down: %d running runs get %g s to finish", len(running), grace)
            await asyncio.wait(running, timeout=grace)
        left = list(self.executors.items())
        for run_id, _ in left:
            self._stop(run_id, "restarted")
        if left:
            log.warning("shutting down: ended %d runs that did not finish in time", len(left))
            await asyncio.wait([task for _, (task, _) in left], timeout=RESTART_STOP_SECONDS)

    async def stop_gracefully(self, grace: float | None = None, timeout: float = 5.0) -> None:
        """The server's shutdown: drain (``begin_drain``), then stop background work."""
        await self.begin_drain(grace)
        await self.shutdown(timeout)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop background work (tests, server shutdown); runs still running are left to their leases."""
        for task in self.background:
            task.cancel()
        for task, _ in list(self.executors.values()):
            task.cancel()
        pending = [t for t in self.background] + [t for t, _ in self.executors.values()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self.background = []
        # The engine's database workers end, and their connections with them.
        await asyncio.to_thread(close_pool)


runtime = Runtime()


async def shutdown(timeout: float = 5.0) -> None:
    await runtime.shutdown(timeout)
