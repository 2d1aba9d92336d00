"""`python -m bench.retrieval [--out FILE] [--big N]`: ingestion speed, search latency, retrieval quality.

Runs against its own SQLite database in a temporary folder (or DATABASE_URL when set), with
the default (local MiniLM int8) embedder. Writes one JSON document (raw numbers) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval")
    parser.add_argument("--out", default="docs/bench/retrieval.json")
    parser.add_argument("--sizes", default="10000,100000", help="store sizes (chunks) for the latency runs")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passages", type=int, default=400)
    parser.add_argument("--ingest-chunks", type=int, default=96)
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="entities-retrieval-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("ENTITIES_FILES_DIR", f"{tmp}/files")
    os.environ.setdefault("ENTITIES_LOCAL_DIR", tmp)
    os.environ.setdefault("DEBUG", "1")
    os.environ["ENTITIES_INGEST_WORKERS"] = "0"  # the bench drives ingestion itself
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.retrieval import runs

    report = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "database": os.environ["DATABASE_URL"].split(":")[0]},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # Other work on the machine slows every figure: the load average says how busy it was.
        "load_average_at_start": os.getloadavg(),
        "ingestion": runs.ingestion(n_chunks=args.ingest_chunks),
        "latency": [runs.latency(n_chunks=int(n), n_queries=args.queries) for n in args.sizes.split(",") if n],
        "quality": runs.quality(n_passages=args.passages),
    }
    report["load_average_at_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=2)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
