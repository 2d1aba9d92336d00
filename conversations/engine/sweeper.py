"""Ending runs nobody will finish: owner died (lease expired), or time ran out.

Every process sweeps; conditional updates make sure each run is ended once. The seed's
background check of pending actions lives on here: pending actions of a run past its
``expires_at`` are expired with it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from conversations.engine.db import db
from conversations.engine.store import close_open_messages
from conversations.models import Action, Run

if TYPE_CHECKING:
    from conversations.engine.runtime import Runtime

log = logging.getLogger(__name__)

OWNER_LOST_ERROR = (
    "The server process running this run stopped before it finished (its lease expired). "
    "The reply it was writing was not saved (text is stored when a message ends); start a new run to continue."
)
QUEUED_GRACE_SECONDS = 5.0


def sweep_once(*, local_ids: set[str], owner: str) -> dict:
    """One pass; returns what it did (counts and the runs it wants this process to execute)."""
    now = timezone.now()
    done = {"failed": [], "cancelled": [], "expired": [], "adopt": []}
    orphaned = Run.objects.filter(status__in=("in_progress", "cancelling")).filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)).exclude(pk__in=local_ids)
    for run in orphaned.only("id", "status"):
        if run.status == Run.Status.CANCELLING:
            with transaction.atomic():
                ok = Run.objects.filter(pk=run.pk, status="cancelling").update(
                    status="cancelled", cancelled_at=now, lease_owner="", lease_expires_at=None)
                if ok:
                    _close_messages(run.pk, "run_cancelled", now)
            if ok:
                done["cancelled"].append(run.pk)
        else:
            with transaction.atomic():
                ok = Run.objects.filter(pk=run.pk, status="in_progress").filter(
                    Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)).update(
                    status="failed", failed_at=now, lease_owner="", lease_expires_at=None,
                    last_error={"code": "server_error", "message": OWNER_LOST_ERROR})
                if ok:
                    _close_messages(run.pk, "run_failed", now)
            if ok:
                done["failed"].append(run.pk)
        Action.objects.filter(run_id=run.pk, status="pending").update(status="expired", completed_at=now,
                                                                      error="run ended by the sweeper")
    expired = Run.objects.filter(expires_at__lt=now, status__in=("queued", "requires_action", "in_progress")).exclude(
        pk__in=local_ids)
    for run_id in expired.values_list("pk", flat=True):
        with transaction.atomic():
            ok = Run.objects.filter(pk=run_id, status__in=("queued", "requires_action")).update(
                status="expired", required_action=None, lease_owner="", lease_expires_at=None)
            if ok:
                Action.objects.filter(run_id=run_id, status="pending").update(status="expired", completed_at=now,
                                                                              error="run expired")
                _close_messages(run_id, "run_expired", now)
        if ok:
            done["expired"].append(run_id)
    stale = now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    # Queued runs carry a short lease from the process that queued them; past it, anyone adopts.
    adopt = Run.objects.filter(status="queued", lease_owner="").filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, created_at__lt=stale)).exclude(pk__in=local_ids)
    done["adopt"] = list(adopt.values_list("pk", flat=True)[:50])
    return done


ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def _close_messages(run_id: str, reason: str, now) -> None:
    # A terminal run always has usage; what a dead owner counted in memory is gone.
    Run.objects.filter(pk=run_id, usage__isnull=True).update(usage=ZERO_USAGE)
    close_open_messages(run_id, reason, now)


async def sweep_forever(runtime: "Runtime") -> None:
    interval = settings.ENTITIES_SWEEP_INTERVAL_SECONDS
    while True:
        try:
            result = await db(sweep_once, local_ids=set(runtime.executors), owner=runtime.owner)
            for run_id in result["adopt"]:
                runtime.submit(run_id)
            if any(result[k] for k in ("failed", "cancelled", "expired")):
                log.warning("sweeper ended runs: %s", {k: v for k, v in result.items() if v and k != "adopt"})
            # Local runs past their expiry are stopped by their executor.
            now = timezone.now()
            for run_id, (_, executor) in list(runtime.executors.items()):
                run = executor.run
                if run is not None and run.expires_at is not None and run.expires_at < now:
                    runtime._stop(run_id, "expired")
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database may be away for a moment
            log.warning("sweep failed", exc_info=True)
        await asyncio.sleep(interval)
