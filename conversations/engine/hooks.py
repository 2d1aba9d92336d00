"""What services call after their transaction commits: the engine takes it from there."""

from __future__ import annotations


def run_queued(run_id: str) -> None:
    """A run was created or continued (tool outputs submitted): execute it."""
    from conversations.engine.runtime import runtime

    runtime.submit(run_id)


def run_cancel_requested(run_id: str) -> None:
    """A cancel was stored: stop the run wherever it executes."""
    from conversations.engine.runtime import runtime

    runtime.request_stop(run_id, "cancelled")
