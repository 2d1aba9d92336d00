"""The engine's stored state changes, at the edges of a run (never per token).

Each function is synchronous ORM code; the executor calls them through ``engine.db.db``.
Status changes are conditional updates, so the engine, the API and other processes
never overwrite each other's decisions.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Case, JSONField, Value, When
from django.utils import timezone

from conversations.branches import message_parent_id
from conversations.engine import state
from conversations.engine.code_files import reply_content
from conversations.engine.search_files import with_citations
from conversations.engine.state import INCOMPLETE_REASON, close_open_messages
from conversations.models import Action, Message, Run, text_part
from kernel.ids import new_message_id


def claim_run(run_id: str, *, owner: str, lease_seconds: float) -> Run | None:
    """Take ownership of a queued run and move it to in_progress; None if someone else did."""
    return state.claim(run_id, owner=owner, lease_seconds=lease_seconds)


def load_run(run_id: str) -> Run | None:
    return Run.objects.filter(pk=run_id).first()


def create_assistant_message(run: Run, *, message_id: str | None = None, reasoning: str = "") -> Message:
    """The reply's message, in progress (``message_id`` and the ``reasoning`` before it, when the
    model reasoned first). If the run ended meanwhile (a cancel that interrupted this call's
    caller, which then never learns of the message) it is closed at once: the run's ending
    closes open messages, and this check covers one created after that."""
    now = timezone.now()
    message_id = message_id or new_message_id()
    message = Message.objects.create(
        id=message_id, parent_id=message_parent_id(thread_id=run.thread_id, message_id=message_id),
        owner_id=run.owner_id, thread_id=run.thread_id, role=Message.Role.ASSISTANT, content=[],
        status=Message.Status.IN_PROGRESS, assistant_id=run.assistant_id, run=run, created_at=now,
        reasoning=reasoning,
    )
    ended = state.ended_status(run.pk)
    if ended in INCOMPLETE_REASON:
        close_open_messages(run.pk, INCOMPLETE_REASON[ended], now)
        message.refresh_from_db()
    return message


def finish_message(message: Message, text: str, *, incomplete_reason: str | None = None) -> Message:
    now = timezone.now()
    message.content = reply_content(message, text)  # generated images and file links (code_files)
    message.content = with_citations(message, message.content, text)  # file_search sources (search_files)
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


def checkpoint_messages(texts: dict[str, str]) -> int:
    """Store the text so far of replies still streaming, all in one UPDATE; returns the rows.

    Only messages still in progress are touched: a message finished meanwhile (its final
    text stored by ``finish_message``) never gets an older partial text back.
    """
    if not texts:
        return 0
    content = Case(*(When(pk=message_id, then=Value([text_part(text)], output_field=JSONField()))
                     for message_id, text in texts.items()), output_field=JSONField())
    return Message.objects.filter(pk__in=list(texts), status=Message.Status.IN_PROGRESS).update(content=content)


def create_actions(run: Run, step_id: str, calls: list[dict], *, reasoning: str = "") -> list[Action]:
    """One pending Action per tool call of a model turn (a single bulk insert); the first
    keeps the ``reasoning`` the model did before the calls."""
    now = timezone.now()
    rows = [
        Action(
            id=call["id"], owner_id=run.owner_id, run_id=run.id, step_id=step_id, index=i, created_at=now,
            tool_type=call["tool_type"], function_name=call["name"], arguments=call["arguments"],
            client_side=call["client_side"], status=Action.Status.PENDING, expires_at=run.expires_at,
            reasoning="" if i else reasoning,
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
    return state.pause_for_outputs(run.pk, required_action=required, usage=usage, tool_rounds=run.tool_rounds,
                                   event_seq=event_seq)


def finish_run(run_id: str, status: str, *, usage: dict | None, event_seq: int, last_error: dict | None = None,
               incomplete_details: dict | None = None) -> Run | None:
    """End a run the executor owns (``state.end_run``); None if someone else ended it first."""
    return state.end_run(run_id, status, usage=usage, event_seq=event_seq, last_error=last_error,
                         incomplete_details=incomplete_details)


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
