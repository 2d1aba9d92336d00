"""Nothing grows per run: what a finished run leaves in the engine runtime is bounded (issue 19).

The runtime's own end-of-run path (``Runtime._ended``) is driven with real finished tasks
and real event logs; no database is needed for what is kept in memory.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from conversations.engine import runtime as runtime_module
from conversations.engine.runtime import Runtime


def _finish_runs(rt: Runtime, loop: asyncio.AbstractEventLoop, count: int, events_each: int) -> None:
    async def nothing() -> None:
        return None

    for i in range(count):
        run_id = f"run_{i}"
        stream = rt.stream_for(run_id)
        for n in range(events_each):
            stream.append("thread.message.delta", {"n": n})
        task = loop.create_task(nothing())
        loop.run_until_complete(task)
        rt._ended(run_id, SimpleNamespace(stream=stream), task)
    loop.run_until_complete(asyncio.sleep(0))  # the leave_control tasks end


def test_finished_runs_leave_a_bounded_log_and_no_timer_each():
    loop = asyncio.new_event_loop()
    try:
        rt = Runtime()
        rt.loop = loop  # bound without background work (that needs a database)
        scheduled_before = len(loop._scheduled)
        _finish_runs(rt, loop, count=3000, events_each=200)  # 600,000 events in all
        kept_events = sum(len(s.events) for s in rt.streams.values())
        assert kept_events <= runtime_module.MAX_RETAINED_EVENTS
        assert len(rt.streams) <= runtime_module.MAX_RETAINED_STREAMS
        # The newest logs are the ones kept (a reconnecting client most likely wants those).
        assert "run_2999" in rt.streams and "run_0" not in rt.streams
        # No timer handle per finished run (each held its run's whole log for two minutes).
        assert len(loop._scheduled) - scheduled_before < 10
    finally:
        loop.close()


def test_retained_logs_go_after_their_retention_time():
    loop = asyncio.new_event_loop()
    try:
        rt = Runtime()
        rt.loop = loop
        _finish_runs(rt, loop, count=5, events_each=3)
        assert len(rt.streams) == 5
        rt.trim_retained(loop.time() + runtime_module.STREAM_RETENTION_SECONDS + 1)
        assert rt.streams == {} and rt._retained == {} and rt._retained_events == 0
    finally:
        loop.close()


def test_a_continued_run_is_not_forgotten_while_it_runs_again():
    loop = asyncio.new_event_loop()
    try:
        rt = Runtime()
        rt.loop = loop
        _finish_runs(rt, loop, count=1, events_each=3)
        stream = rt.stream_for("run_0")
        stream.reopen()  # what _start does for a run continued after requires_action
        rt.trim_retained(loop.time() + runtime_module.STREAM_RETENTION_SECONDS + 1)
        assert rt.streams.get("run_0") is stream
    finally:
        loop.close()
