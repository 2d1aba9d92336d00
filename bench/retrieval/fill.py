"""`python -m bench.retrieval.fill --owner NAME --sizes 1000,10000`: vector stores of N chunks, written directly.

Runs against the database of its environment (``DATABASE_URL``: the one an Entities under
test uses), before that server starts. The chunks are those of the latency benchmark
(``runs.fill_store``: random unit vectors of the default embedder's dimension, 150
Zipf-distributed pseudo-words each), stored through the ORM in bulk instead of embedded:
embedding 10,000 chunks would take ten minutes here and searching them costs the same.
Prints one JSON line: ``{"stores": {"<size>": "<vs_id>"}, "queries": [...], "dimension": d}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval.fill")
    parser.add_argument("--owner", required=True, help="username of the stores' owner (made when missing)")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from bench.retrieval.runs import fill_store
    from retrieval.embedding import current_embedder

    owner, _ = get_user_model().objects.get_or_create(username=args.owner)
    dimension = int(current_embedder().embed(["warm up"]).shape[1])
    stores, queries = {}, []
    for size in (int(s) for s in args.sizes.split(",") if s):
        store, queries = fill_store(size, dimension, f"run-ttft-{size}", owner=owner)
        stores[str(size)] = store.pk
    print(json.dumps({"stores": stores, "queries": queries[:args.queries], "dimension": dimension}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
