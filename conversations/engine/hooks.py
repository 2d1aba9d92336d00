"""What services call after their transaction commits: the engine takes it from there."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def run_owner() -> str | None:
    """Who owns a run created in this process from birth: this process's engine, or None
    while it drains (the run is then stored queued, for the next process to adopt)."""
    from conversations.engine.runtime import runtime

    return None if runtime.draining else runtime.owner


def run_created(run) -> None:
    """A run was created (``run`` as stored): execute it. A run claimed at birth goes to the
    engine with its first model request, built here, on the creating request's thread, so
    the engine reads nothing back before its first upstream byte."""
    from conversations.engine.runtime import runtime

    if not run.lease_owner:
        runtime.submit(run.id)
        return
    runtime.submit(run.id, run=run, request=first_turn_request(run))


def first_turn_request(run):
    """The first model request of a new run (sync ORM code, after commit), so the engine starts
    streaming without a database trip. None if it cannot be built here: the executor then
    builds it, and fails the run the usual way if it must."""
    from conversations.engine.context import build_chat_request
    from inference.routing import resolve_model

    try:
        return build_chat_request(run, backend_model=resolve_model(run.model)[1])
    except Exception:  # noqa: BLE001 - the executor retries and reports it
        log.debug("run %s: first request not prepared", run.id, exc_info=True)
        return None


def run_queued(run_id: str) -> None:
    """A run was continued (tool outputs submitted) or queued elsewhere: execute it."""
    from conversations.engine.runtime import runtime

    runtime.submit(run_id)


def run_cancel_requested(run_id: str) -> None:
    """A cancel was stored: stop the run wherever it executes."""
    from conversations.engine.runtime import runtime

    runtime.request_stop(run_id, "cancelled")
