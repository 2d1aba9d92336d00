"""How an executor ends its run: completed, failed, stopped (cancel, expiry, restart).

A mixin of ``RunExecutor`` (``engine/executor.py``), which provides ``run_id``, ``run``,
``stream``, ``usage``, ``turn``, ``emit_run`` and ``_close_message``. Every ending goes
through ``store.finish_run`` → ``state.end_run``, one transaction; whoever ends a run
first wins, and a loser publishes what is stored instead.
"""

from __future__ import annotations

import logging
import time

from conversations.engine import completion, store
from conversations.engine.db import db
from conversations.models import Run
from kernel import metrics

log = logging.getLogger("conversations.engine.executor")

RESTARTED_ERROR = ("The server was restarted before this run finished (it waited ENTITIES_SHUTDOWN_GRACE_SECONDS). "
                   "The text written so far was kept in the message; start a new run to continue.")


class RunFailed(Exception):
    """Ends the run ``failed`` with ``message`` as its ``last_error`` (``code`` one of OpenAI's)."""

    def __init__(self, message: str, code: str = "server_error"):
        super().__init__(message)
        self.message, self.code = message, code


class RunEndings:
    """The ending half of the executor."""

    def _observe_end(self, status: str) -> None:
        metrics.RUNS.labels(status=status).inc()
        metrics.TOKENS.inc(self.deltas)
        self.deltas = 0
        if self.started_at is not None:
            total = time.perf_counter() - self.started_at
            metrics.OVERHEAD.observe(max(total - self.waited, 0.0))
            metrics.UPSTREAM_WAIT.observe(self.waited)
            self.started_at = None

    async def _publish_stored(self) -> None:
        """Someone else ended the run (a cancel, a sweeper): announce its stored ending."""
        current = await db(store.load_run, self.run_id)
        if current is not None and current.is_terminal:
            self.run = current
            self.emit_run(f"thread.run.{current.status}")

    async def _finish(self, status: str, *, incomplete: dict | None = None, last_error: dict | None = None) -> None:
        self.finishing = True  # the lease check must not mistake our own ending for someone else's
        run = await db(store.finish_run, self.run_id, status, usage=self.usage, event_seq=self.stream.last_seq + 1,
                       last_error=last_error, incomplete_details=incomplete)
        if run is None:
            await self._publish_stored()
            return
        self.run = run
        self._observe_end(status)
        self.emit_run(f"thread.run.{status}")
        if status == "completed":
            completion.run_completed(self.run_id)  # e.g. the model-written title; never awaited here

    async def _close_open_message(self, reason: str) -> None:
        turn = self.turn
        if turn is not None and turn.message_open and turn.message is not None:
            await self._close_message(turn, incomplete_reason=reason)

    async def _fail(self, message: str, code: str = "server_error") -> None:
        log.warning("run %s failed: %s", self.run_id, message)
        try:
            if self.run is None:
                self.run = await db(store.load_run, self.run_id)
            await self._close_open_message("run_failed")
            await self._finish("failed", last_error={"code": code, "message": message})
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure of run %s; the sweeper will end it", self.run_id)

    async def _stop(self, reason: str) -> None:
        """Finish a run that was asked to stop: cancelled, expired, ended elsewhere, or restarted."""
        if reason == "ended_elsewhere":
            await self._publish_stored()  # another process's sweeper ended it: write nothing
            return
        if reason == "restarted":
            await self._end_for_restart()
            return
        if self.run is None:
            self.run = await db(store.load_run, self.run_id)
        await self._close_open_message("run_cancelled" if reason == "cancelled" else "run_expired")
        await self._finish(reason)

    async def _end_for_restart(self) -> None:
        """The server is restarting and the grace period is over: fail the run, its text kept."""
        current = await db(store.load_run, self.run_id)
        if current is None or current.status == Run.Status.QUEUED:
            return  # never claimed here: the next process adopts it
        if self.run is None:
            self.run = current
        await self._close_open_message("run_failed")
        await self._finish("failed", last_error={"code": "server_error", "message": RESTARTED_ERROR})
