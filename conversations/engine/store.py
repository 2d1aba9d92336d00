"""The engine's stored state changes, at the edges of a run (never per token).

Each function is synchronous ORM code; the executor calls them through ``engine.db.db``.
Status changes are conditional updates, so the engine, the API and other processes
never overwrite each other's decisions.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations.models import ACTIVE_RUN_STATUSES, Action, Message, Run, Thread
from conversations.services.content import text_part

CLAIMABLE = ("queued",)


def claim_run(run_id: str, *, owner: str, lease_seconds: float) -> Run | None:
    """Take ownership of a queued run and move it to in_progress; None if someone else did."""
    now = timezone.now()
    # One statement: a continued run (after requires_action) keeps its first started_at.
    updated = Run.objects.filter(pk=run_id, status__in=CLAIMABLE).update(
        status=Run.Status.IN_PROGRESS, lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
    )
    if not updated:
        return None
    return Run.objects.select_related("thread").get(pk=run_id)


def load_run(run_id: str) -> Run | None:
    return Run.objects.filter(pk=run_id).first()


# Why a message left open by a run's ending is incomplete (a completed run closed its own).
_INCOMPLETE_REASON = {"cancelled": "run_cancelled", "failed": "run_failed", "expired": "run_expired",
                      "incomplete": "max_tokens"}


def create_assistant_message(run: Run) -> Message:
    """The reply's message, in progress. If the run ended meanwhile (a cancel that interrupted
    this call's caller, which then never learns of the message) it is closed at once: the
    run's ending closes open messages, and this check covers one created after that."""
    now = timezone.now()
    message = Message.objects.create(
        owner_id=run.owner_id, thread_id=run.thread_id, role=Message.Role.ASSISTANT, content=[],
        status=Message.Status.IN_PROGRESS, assistant_id=run.assistant_id, run=run, created_at=now,
    )
    ended = Run.objects.filter(pk=run.pk).exclude(status__in=ACTIVE_RUN_STATUSES).values_list(
        "status", flat=True).first()
    if ended in _INCOMPLETE_REASON:
        close_open_messages(run.pk, _INCOMPLETE_REASON[ended], now)
        message.refresh_from_db()
    return message


def close_open_messages(run_id: str, reason: str, now) -> None:
    """Mark the run's messages still in progress incomplete (the run is ending or has ended)."""
    Message.objects.filter(run_id=run_id, status=Message.Status.IN_PROGRESS).update(
        status=Message.Status.INCOMPLETE, incomplete_at=now, incomplete_details={"reason": reason})


def finish_message(message: Message, text: str, *, incomplete_reason: str | None = None) -> Message:
    now = timezone.now()
    message.content = [text_part(text)]
    if incomplete_reason:
        message.status, message.incomplete_at = Message.Status.INCOMPLETE, now
        message.incomplete_details = {"reason": incomplete_reason}
    else:
        message.status, message.completed_at = Message.Status.COMPLETED, now
    Message.objects.filter(pk=message.pk).update(
        content=message.content, status=message.status, completed_at=message.completed_at,
        incomplete_at=message.incomplete_at, incomplete_details=message.incomplete_details,
    )
    return message


def create_actions(run: Run, step_id: str, calls: list[dict]) -> list[Action]:
    """One pending Action per tool call of a model turn (a single bulk insert)."""
    now = timezone.now()
    rows = [
        Action(
            id=call["id"], owner_id=run.owner_id, run_id=run.id, step_id=step_id, index=i, created_at=now,
            tool_type=call["tool_type"], function_name=call["name"], arguments=call["arguments"],
            client_side=call["client_side"], status=Action.Status.PENDING, expires_at=run.expires_at,
        )
        for i, call in enumerate(calls)
    ]
    Action.objects.bulk_create(rows)
    return rows


def finish_actions(actions: list[Action]) -> None:
    """Store the outcome of server-side actions (status, output) in one transaction."""
    with transaction.atomic():
        for action in actions:
            Action.objects.filter(pk=action.pk).update(
                status=action.status, output=action.output, outputs=action.outputs, error=action.error,
                completed_at=action.completed_at,
            )


def require_action(run: Run, calls: list[Action], usage: dict, event_seq: int) -> Run | None:
    """Pause the run for client-side outputs; None if it was cancelled meanwhile."""
    required = {
        "type": "submit_tool_outputs",
        "submit_tool_outputs": {
            "tool_calls": [
                {"id": a.id, "type": "function", "function": {"name": a.function_name, "arguments": a.arguments}}
                for a in calls
            ]
        },
    }
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.IN_PROGRESS).update(
        status=Run.Status.REQUIRES_ACTION, required_action=required, usage=usage, lease_owner="",
        lease_expires_at=None, tool_rounds=run.tool_rounds, event_seq=event_seq,
    )
    if not updated:
        return None
    return Run.objects.get(pk=run.pk)


def finish_run(run_id: str, status: str, *, usage: dict | None, event_seq: int, last_error: dict | None = None,
               incomplete_details: dict | None = None, from_statuses=("in_progress", "cancelling", "queued")) -> Run | None:
    """Move a run to a terminal status (if it is still in one of ``from_statuses``)."""
    now = timezone.now()
    fields = {
        "status": status, "usage": usage, "lease_owner": "", "lease_expires_at": None, "required_action": None,
        "event_seq": event_seq, "last_error": last_error, "incomplete_details": incomplete_details,
    }
    stamp = {"completed": "completed_at", "incomplete": "completed_at", "failed": "failed_at",
             "cancelled": "cancelled_at", "expired": None}.get(status)
    if stamp:
        fields[stamp] = now
    with transaction.atomic():
        updated = Run.objects.filter(pk=run_id, status__in=from_statuses).update(**fields)
        if updated and status in _INCOMPLETE_REASON:
            # A message the executor lost track of (its await was cancelled mid-create) is closed with the run.
            close_open_messages(run_id, _INCOMPLETE_REASON[status], now)
    Thread.objects.filter(runs__pk=run_id).update(updated_at=now)
    return Run.objects.filter(pk=run_id).first() if updated else None


def renew_leases(run_ids: list[str], *, owner: str, lease_seconds: float) -> set[str]:
    """Extend our leases; returns the ids whose stored status asks them to stop."""
    if not run_ids:
        return set()
    Run.objects.filter(pk__in=run_ids, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds)
    )
    return set(
        Run.objects.filter(pk__in=run_ids).exclude(status="in_progress").values_list("pk", flat=True)
    )


def status_of(run_id: str) -> str | None:
    return Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
