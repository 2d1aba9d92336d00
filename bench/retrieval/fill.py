"""`python -m bench.retrieval.fill --owner NAME --sizes 1000,10000`: vector stores of N chunks, written directly.

Runs against the database of its environment (``DATABASE_URL``: the one an Entities under
test uses), before that server starts. The chunks are those of the latency benchmark
(``runs.fill_store``: random unit vectors of the default embedder's dimension, 150
Zipf-distributed pseudo-words each), stored through the ORM in bulk instead of embedded:
embedding 10,000 chunks would take ten minutes here and searching them costs the same.
With ``--direct N`` it also times N direct calls of the run engine's ``run_file_search`` on
each store (after one that loads the store's vectors), to set against the run's figure.
Prints one JSON line: ``{"stores": {"<size>": "<vs_id>"}, "queries": [...], "dimension": d,
"direct_tool_call_ms": {"<size>": {"p50": …, "p95": …}}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _time_tool(store, queries: list[str]) -> dict:
    """p50/p95 (ms) of ``run_file_search`` on ``store``, as the engine calls it (with content)."""
    from bench.stats import summary
    from retrieval.tool import run_file_search

    def call(query: str) -> float:
        t0 = time.perf_counter()
        run_file_search(user=store.owner, vector_store_ids=[store.pk], arguments=json.dumps({"query": query}),
                        include_content=True)
        return time.perf_counter() - t0

    call(queries[0])  # loads the store's vectors
    got = summary([call(q) for q in queries], 1000.0)
    return {k: round(got[k], 2) for k in ("n", "p50", "p95", "mean")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval.fill")
    parser.add_argument("--owner", required=True, help="username of the stores' owner (made when missing)")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--direct", type=int, default=0, help="direct run_file_search calls to time per store")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from bench.retrieval.runs import fill_store
    from retrieval.embedding import current_embedder

    owner, _ = get_user_model().objects.get_or_create(username=args.owner)
    dimension = int(current_embedder().embed(["warm up"]).shape[1])
    stores, queries, direct = {}, [], {}
    for size in (int(s) for s in args.sizes.split(",") if s):
        store, queries = fill_store(size, dimension, f"run-ttft-{size}", owner=owner)
        stores[str(size)] = store.pk
        if args.direct:
            direct[str(size)] = _time_tool(store, queries[:args.direct])
    print(json.dumps({"stores": stores, "queries": queries[:args.queries], "dimension": dimension,
                      "direct_tool_call_ms": direct}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
