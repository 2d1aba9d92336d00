"""Retrieval benchmark: `python -m bench.retrieval` (docs/retrieval.md, docs/performance.md)."""
