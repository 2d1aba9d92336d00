"""The run's state machine: the only code that writes ``Run.status``.

Every move is one conditional UPDATE that names the statuses it may start from, taken
from ``Run.TRANSITIONS`` (the Assistants v2 lifecycle)::

    queued -> in_progress -> requires_action -> queued -> in_progress -> ...
       any active status -> cancelling -> cancelled | completed | incomplete | failed | expired
    in_progress -> completed | incomplete | failed | expired

So the API, the engine and other processes never overwrite each other's decisions: the
loser of a race updates no row and learns it from the return value. A run ends only
through ``end_run``, which does the whole ending in one transaction (close the messages
left open, expire pending tool calls, fill usage, clear the lease and the required
action, stamp the time, touch the thread).

Synchronous ORM code, importing nothing but the models: the services call it inside
their transactions, the engine through ``engine.db.db``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations.models import ACTIVE_RUN_STATUSES, TERMINAL_RUN_STATUSES, Action, Message, Run, Thread

ACTIVE = ACTIVE_RUN_STATUSES  # statuses that hold the thread (models.ACTIVE_RUN_STATUSES, one set)
TERMINAL = TERMINAL_RUN_STATUSES

ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}

# Why a message left open by a run's ending is incomplete (a completed run closed its own).
INCOMPLETE_REASON = {"cancelled": "run_cancelled", "failed": "run_failed", "expired": "run_expired",
                     "incomplete": "max_tokens"}
_STAMP = {"completed": "completed_at", "incomplete": "completed_at", "failed": "failed_at",
          "cancelled": "cancelled_at", "expired": None}


class TransitionNotAllowed(ValueError):
    """A move the state machine does not have (a programming error, not a race)."""


def sources(to: str, only_from: Iterable[str] | None = None) -> frozenset[str]:
    """The statuses a run may move to ``to`` from (narrowed to ``only_from`` if given)."""
    allowed = frozenset(s for s, targets in Run.TRANSITIONS.items() if to in targets)
    if only_from is not None:
        extra = set(only_from) - allowed
        if extra:
            raise TransitionNotAllowed(f"a run cannot move from {sorted(extra)} to {to!r}")
        allowed = allowed & frozenset(only_from)
    if not allowed:
        raise TransitionNotAllowed(f"no status moves to {to!r}")
    return allowed


def _move(run_id: str, to: str, *, only_from: Iterable[str] | None = None, where: Q | None = None,
          **fields) -> bool:
    """One conditional UPDATE from an allowed status to ``to``; True if this call made the move."""
    rows = Run.objects.filter(pk=run_id, status__in=sources(to, only_from))
    if where is not None:
        rows = rows.filter(where)
    return bool(rows.update(status=to, **fields))


# -- the moves of an active run --------------------------------------------------------

def create_claimed(*, owner: str, lease_seconds: float, **fields) -> tuple[Run, Run]:
    """Insert a new run already claimed by ``owner``: in_progress under its lease from the
    first write, so the creator owns the run from birth and its engine needs no claim (nor a
    reload) before the first model turn. Call inside the creating transaction.

    Returns (the run as created, the run as stored). The first is the run queued, without
    started_at or lease: what the create request answers and the ``thread.run.created`` and
    ``thread.run.queued`` events show, as the Assistants API does. The second goes to the engine.
    """
    now = fields.get("created_at") or timezone.now()
    fields.update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds), started_at=now)
    stored = Run.objects.create(status=Run.Status.IN_PROGRESS, **fields)
    names = [f.attname for f in Run._meta.concrete_fields]
    created = Run.from_db(stored._state.db, names, [getattr(stored, name) for name in names])
    created.status, created.started_at, created.lease_owner, created.lease_expires_at = Run.Status.QUEUED, None, "", None
    return created, stored


def claim(run_id: str, *, owner: str, lease_seconds: float) -> Run | None:
    """queued -> in_progress under ``owner``'s lease; None if someone else claimed or ended it."""
    now = timezone.now()
    # A continued run (after requires_action) keeps its first started_at.
    moved = _move(run_id, Run.Status.IN_PROGRESS, lease_owner=owner,
                  lease_expires_at=now + timedelta(seconds=lease_seconds),
                  started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())))
    return Run.objects.select_related("thread").get(pk=run_id) if moved else None


def pause_for_outputs(run_id: str, *, required_action: dict, usage: dict, tool_rounds: int,
                      event_seq: int) -> Run | None:
    """in_progress -> requires_action (the lease is let go); None if the run was cancelled meanwhile."""
    moved = _move(run_id, Run.Status.REQUIRES_ACTION, required_action=required_action, usage=usage,
                  lease_owner="", lease_expires_at=None, tool_rounds=tool_rounds, event_seq=event_seq)
    return Run.objects.get(pk=run_id) if moved else None


def resume(run_id: str, *, lease_seconds: float) -> bool:
    """requires_action -> queued (the client's outputs are stored), with a short queued lease
    for the process that queued it; call inside the services' transaction."""
    return _move(run_id, Run.Status.QUEUED, required_action=None,
                 lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds))


def request_cancel(run_id: str) -> bool:
    """queued | in_progress -> cancelling: the engine that owns the run finishes the job."""
    return _move(run_id, Run.Status.CANCELLING)


# -- the one ending --------------------------------------------------------------------

def end_run(run_id: str, status: str, *, only_from: Iterable[str] | None = None, where: Q | None = None,
            usage: dict | None = None, event_seq: int | None = None, last_error: dict | None = None,
            incomplete_details: dict | None = None) -> Run | None:
    """Move a run to the terminal ``status`` and do everything an ending means, in one transaction.

    The move starts from any status the state machine allows (``only_from`` and ``where``
    narrow it, e.g. the sweeper's "and the lease has expired"). If this call made the move:
    messages still in progress become incomplete (their text is kept), pending tool calls
    expire, usage is filled (zeros when nobody counted), the lease and the required action
    are cleared, the ending is stamped and the thread touched. Returns the stored run, or
    None if the run was not in a status it may end from (someone else ended it first).
    """
    if status not in TERMINAL:
        raise TransitionNotAllowed(f"{status!r} is not a terminal status")
    now = timezone.now()
    fields = {"lease_owner": "", "lease_expires_at": None, "required_action": None,
              "last_error": last_error, "incomplete_details": incomplete_details}
    if usage is not None:
        fields["usage"] = usage
    if event_seq is not None:
        fields["event_seq"] = event_seq
    if _STAMP[status]:
        fields[_STAMP[status]] = now
    with transaction.atomic():
        if not _move(run_id, status, only_from=only_from, where=where, **fields):
            return None
        if usage is None:
            Run.objects.filter(pk=run_id, usage__isnull=True).update(usage=ZERO_USAGE)
        if status in INCOMPLETE_REASON:
            # Includes a message the executor lost track of (its await was cancelled mid-insert).
            close_open_messages(run_id, INCOMPLETE_REASON[status], now)
        if status in INCOMPLETE_REASON and status != "incomplete":
            # (a run completes only after its tool calls did, so it has none pending)
            Action.objects.filter(run_id=run_id, status=Action.Status.PENDING).update(
                status=Action.Status.EXPIRED, completed_at=now, error=f"run {status}")
        Thread.objects.filter(runs__pk=run_id).update(updated_at=now)
    return Run.objects.filter(pk=run_id).first()


def close_open_messages(run_id: str, reason: str, now=None) -> None:
    """Mark the run's messages still in progress incomplete, keeping what text they hold."""
    Message.objects.filter(run_id=run_id, status=Message.Status.IN_PROGRESS).update(
        status=Message.Status.INCOMPLETE, incomplete_at=now or timezone.now(), incomplete_details={"reason": reason})


def ended_status(run_id: str) -> str | None:
    """The run's terminal status, or None while it is active (or gone)."""
    status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
    return status if status in TERMINAL else None
