"""What services call after their transaction commits: the engine takes it from there."""

from __future__ import annotations


def run_owner() -> str | None:
    """Who owns a run created in this process from birth: this process's engine, or None
    while it drains (the run is then stored queued, for the next process to adopt)."""
    from conversations.engine.runtime import runtime

    return None if runtime.draining else runtime.owner


def run_created(run) -> None:
    """A run was created (``run`` as stored): execute it. A run claimed at birth goes to the
    engine with its first model request, built here, on the creating request's thread, so
    the engine reads nothing back before its first upstream byte."""
    from conversations.engine.executor import first_turn_request
    from conversations.engine.runtime import runtime

    if not run.lease_owner:
        runtime.submit(run.id)
        return
    runtime.submit(run.id, run=run, request=first_turn_request(run))


def run_queued(run_id: str) -> None:
    """A run was continued (tool outputs submitted) or queued elsewhere: execute it."""
    from conversations.engine.runtime import runtime

    runtime.submit(run_id)


def run_cancel_requested(run_id: str) -> None:
    """A cancel was stored: stop the run wherever it executes."""
    from conversations.engine.runtime import runtime

    runtime.request_stop(run_id, "cancelled")
