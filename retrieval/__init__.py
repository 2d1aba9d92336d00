"""Retrieval: vector stores, background ingestion of files, hybrid search (docs/retrieval.md)."""
