"""Background ingestion: a few worker threads per process, files leased like runs.

Any process that serves the retrieval API (or runs ``manage.py ingest_worker``) starts
``conf.ingest_workers()`` threads. A thread claims an ``in_progress`` file whose lease is
free or expired (a conditional UPDATE, so two processes never take the same file),
renews the lease while it embeds, and writes the result only if the lease is still its
own. The sweep in the claim is what keeps files from staying in_progress forever: a file
whose worker died (lease expired) is retried, up to ``ENTITIES_INGEST_MAX_ATTEMPTS``
attempts, then failed with ``server_error``. onnxruntime releases the GIL, so embedding in
a thread does not stall the server's event loop.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta

from django.db import close_old_connections, connections
from django.db.models import F, Q
from django.utils import timezone

from retrieval import conf
from retrieval.models import VectorStoreFile
from retrieval.services.ingest import ingest

log = logging.getLogger(__name__)

OWNER_LOST = ("The server process ingesting this file stopped {n} times before it finished "
              "(its lease expired each time); the file was not indexed.")


class Workers:
    def __init__(self) -> None:
        self.owner = ""
        self.pid = 0
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.lock = threading.Lock()
        self.active: set[int] = set()

    def _running(self) -> bool:
        return self.pid == os.getpid() and bool(self.threads) and all(t.is_alive() for t in self.threads)

    def ensure_started(self, count: int | None = None) -> None:
        """Start ``count`` (default: the setting) worker threads in this process once; cheap when running."""
        if self._running():
            return
        count = conf.ingest_workers() if count is None else count
        if count <= 0:
            return
        with self.lock:
            if self._running():
                return
            self.pid = os.getpid()
            self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
            self.stopping = threading.Event()
            self.threads = [threading.Thread(target=self._loop, name=f"entities-ingest-{i}", daemon=True)
                            for i in range(count)]
            for thread in self.threads:
                thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads (each closes its DB connection); unfinished files stay leased until expiry."""
        with self.lock:
            threads, self.threads = self.threads, []
            self.stopping.set()
            self.wakeup.set()
        for thread in threads:
            thread.join(timeout)

    def _loop(self) -> None:
        stopping = self.stopping
        try:
            while not stopping.is_set():
                pk = None
                try:
                    close_old_connections()
                    pk = claim(self.owner)
                    if pk is not None:
                        self.active.add(pk)
                        ingest(pk, self.owner)
                except Exception:  # noqa: BLE001 - a bad file or a database blip must not end the worker
                    log.warning("ingestion step failed", exc_info=True)
                    if pk is not None:
                        _fail_quietly(pk, self.owner)
                finally:
                    if pk is not None:
                        self.active.discard(pk)
                if pk is None:
                    self.wakeup.wait(conf.ingest_poll_seconds())
                    self.wakeup.clear()
        finally:
            connections.close_all()


def _fail_quietly(pk: int, owner: str) -> None:
    from retrieval.services.ingest import fail

    try:
        fail(pk, owner, "server_error", "Ingestion failed unexpectedly on the server (see the server log).")
    except Exception:  # noqa: BLE001 - the database may be away; the lease will expire
        log.warning("could not mark %s failed", pk, exc_info=True)


def claim(owner: str) -> int | None:
    """Lease one file that needs work (sweeping orphans on the way); its pk, or None."""
    now = timezone.now()
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now)
    candidates = (VectorStoreFile.objects.filter(status="in_progress").filter(free)
                  .order_by("created_at", "pk").values_list("pk", "attempts", "lease_owner")[:20])
    for pk, attempts, previous in candidates:
        if previous and attempts >= conf.ingest_max_attempts():
            VectorStoreFile.objects.filter(pk=pk, status="in_progress", lease_expires_at__lt=now).update(
                status="failed", lease_owner="", lease_expires_at=None, completed_at=now,
                last_error={"code": "server_error", "message": OWNER_LOST.format(n=attempts)})
            continue
        until = now + timedelta(seconds=conf.ingest_lease_seconds())
        taken = VectorStoreFile.objects.filter(pk=pk, status="in_progress").filter(free).update(
            lease_owner=owner, lease_expires_at=until, attempts=F("attempts") + 1)
        if taken:
            return pk
    return None


workers = Workers()


def wake() -> None:
    """New work was committed: make sure workers run here and look now."""
    workers.ensure_started()
    workers.wakeup.set()
