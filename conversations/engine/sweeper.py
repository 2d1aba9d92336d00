"""Ending runs nobody will finish: owner died (lease expired), or time ran out.

Every process sweeps (the runtime calls ``sweep_once`` every ENTITIES_SWEEP_INTERVAL_SECONDS);
the state machine's conditional updates make sure each run is ended once. The seed's
background check of pending actions lives on here: pending actions of a run past its
``expires_at`` are expired with it (``state.end_run`` does that for every ending).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from conversations.engine import state
from conversations.models import Run

OWNER_LOST_ERROR = (
    "The server process running this run stopped before it finished (its lease expired). "
    "The text it had streamed up to its last checkpoint was kept in the message; start a new run to continue."
)
QUEUED_GRACE_SECONDS = 5.0
ADOPT_BATCH = 50


def _lease_gone(now) -> Q:
    return Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)


def sweep_once(*, local_ids: set[str], owner: str) -> dict:
    """One pass; returns what it did (the runs it ended, and those it wants this process to execute)."""
    now = timezone.now()
    done = {"failed": [], "cancelled": [], "expired": [], "adopt": []}
    orphaned = Run.objects.filter(status__in=("in_progress", "cancelling")).filter(_lease_gone(now)).exclude(
        pk__in=local_ids)
    for run in orphaned.only("id", "status"):
        if run.status == Run.Status.CANCELLING:
            ended = state.end_run(run.pk, "cancelled", only_from={"cancelling"}, where=_lease_gone(now))
        else:
            ended = state.end_run(run.pk, "failed", only_from={"in_progress"}, where=_lease_gone(now),
                                  last_error={"code": "server_error", "message": OWNER_LOST_ERROR})
        if ended is not None:
            done[ended.status].append(run.pk)
    expired = Run.objects.filter(expires_at__lt=now, status__in=("queued", "requires_action")).exclude(
        pk__in=local_ids)
    for run_id in expired.values_list("pk", flat=True):
        if state.end_run(run_id, "expired", only_from={"queued", "requires_action"}) is not None:
            done["expired"].append(run_id)
    stale = now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    # Queued runs carry a short lease from the process that queued them; past it, anyone adopts.
    adopt = Run.objects.filter(status="queued", lease_owner="").filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, created_at__lt=stale)).exclude(pk__in=local_ids)
    done["adopt"] = list(adopt.values_list("pk", flat=True)[:ADOPT_BATCH])
    return done
