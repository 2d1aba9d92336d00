"""The periodic file sweep: expired files, then stored bytes no row names (crash leftovers).

Every server process runs it (started beside the run engine's sweeper); deletes are
idempotent, so processes sweeping at once do no harm. The work is synchronous ORM and
storage code, so it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.db import connection

from files.services import sweep_expired, sweep_orphans

log = logging.getLogger(__name__)

# Orphans are rare (a crash between saving the bytes and creating the row): look less often.
ORPHAN_EVERY = 60


def sweep_once(*, orphans: bool) -> dict:
    """One pass in the calling thread; returns the counts."""
    try:
        done = {"expired": sweep_expired()}
        if orphans:
            done["orphans"] = sweep_orphans()
        return done
    finally:
        # Closed, not kept: the pass runs in whatever worker thread the loop's default
        # executor hands out, and a loop that goes away (tests, reloads) takes its threads
        # with it while their kept connections stay open on the server until they pile up.
        connection.close()


async def sweep_forever(interval: float | None = None) -> None:
    """Sweep every ``interval`` seconds (ENTITIES_FILES_SWEEP_SECONDS) until cancelled."""
    interval = interval or settings.ENTITIES_FILES_SWEEP_SECONDS
    passes = 0
    while True:
        try:
            await asyncio.to_thread(sweep_once, orphans=passes % ORPHAN_EVERY == 0)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the next pass retries; a sweep must never stop
            log.exception("file sweep failed")
        passes += 1
        await asyncio.sleep(interval)
