"""`manage.py ingest_worker`: a process that only ingests files (beside or instead of the servers')."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from retrieval import conf
from retrieval.worker import workers


class Command(BaseCommand):
    help = "Ingest vector store files in the background until interrupted (SIGINT/SIGTERM)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=0,
                            help="files ingested at once (default: ENTITIES_INGEST_WORKERS, at least 1)")

    def handle(self, *args, **options):
        count = options["workers"] or max(1, conf.ingest_workers())
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        workers.ensure_started(count)
        self.stdout.write(f"ingest worker {workers.owner} running")
        while not done.wait(1.0):
            workers.ensure_started(count)
        workers.stop()
