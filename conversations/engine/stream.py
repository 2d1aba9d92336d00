"""The per-run event log in the process that executes the run.

The executor appends events; any number of local watchers iterate from a sequence
number and get every event exactly once, in order. Watchers never drive the run:
leaving only stops their own iteration. Once the run's segment ends the log is
closed and kept for a while so a reconnecting client can still replay it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from conversations.engine.events import COALESCE_BACKLOG, MESSAGE_DELTA, RunEvent, coalesce_deltas


class RunStream:
    def __init__(self, run_id: str, thread_id: str = "", start_seq: int = 0) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.events: list[RunEvent] = []
        self.first_seq = start_seq + 1  # seq of events[0]
        self.closed = False
        self._changed = asyncio.Event()
        self.remote_listeners = False  # set when a watcher in another process asked for events
        self.on_append = None  # callable(RunEvent) for fan-out to the channel layer
        self.fanout = None  # set once a watcher in another process subscribed

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.events) - 1

    def rebase(self, start_seq: int) -> None:
        """Continue numbering after ``start_seq`` (a run resumed after requires_action)."""
        if not self.events:
            self.first_seq = start_seq + 1

    def append(self, name: str, data: dict) -> RunEvent:
        """Number and log one event (its payload is built once, after the write it reports)."""
        event = RunEvent(self.first_seq + len(self.events), name, data)
        self.events.append(event)
        if self.on_append is not None:
            self.on_append(event)
        self._wake()
        return event

    def close(self) -> None:
        self.closed = True
        if self.fanout is not None:
            self.fanout.flush()
            self.fanout = None
        self._wake()

    def reopen(self) -> None:
        self.closed = False

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def since(self, after_seq: int) -> list[RunEvent]:
        start = max(after_seq + 1 - self.first_seq, 0)
        return self.events[start:]

    async def iterate(self, after_seq: int = 0, *, idle_timeout: float = 30.0,
                      coalesce: bool = False) -> AsyncIterator[RunEvent]:
        """Every event with seq > ``after_seq``, then wait for more until the log closes.

        ``idle_timeout`` bounds each wait; on expiry the iterator yields nothing and
        ends, so a caller can check stored state instead of waiting forever.
        ``coalesce``: a watcher COALESCE_BACKLOG or more events behind gets consecutive text
        deltas of one message merged into one event (``events.coalesce_deltas``). Only
        events already logged are merged: nothing waits for more. What the log held when the
        watch began (a resume, a replay of a finished run) goes out event by event, as logged.
        """
        position = max(after_seq + 1 - self.first_seq, 0)
        live_from = len(self.events)
        while True:
            events = self.events
            while position < len(events):
                if (coalesce and position >= live_from and len(events) - position >= COALESCE_BACKLOG
                        and events[position].name == MESSAGE_DELTA):
                    event, position = coalesce_deltas(events, position)
                    yield event
                    continue
                yield events[position]
                position += 1
            if self.closed:
                return
            changed = self._changed
            try:
                # asyncio.timeout, not wait_for: no extra task per wait on the per-token path.
                async with asyncio.timeout(idle_timeout):
                    await changed.wait()
            except TimeoutError:
                return
