"""The keyword backend of the current database (raw SQL lives in one small module per vendor)."""

from __future__ import annotations

from django.db import connection


def backend_for(vendor: str):
    if vendor == "sqlite":
        from retrieval.search import sqlite as module
    elif vendor == "postgresql":
        from retrieval.search import postgres as module
    else:  # pragma: no cover - the project supports SQLite and PostgreSQL only
        raise RuntimeError(f"retrieval has no keyword index for the {vendor!r} database")
    return module


def keyword_search(*, store_id: str, query: str, limit: int) -> list[tuple[int, float]]:
    """Chunk ids of ``store_id`` matching ``query`` by keywords, best first."""
    module = backend_for(connection.vendor)
    with connection.cursor() as cursor:
        return module.keyword_search(cursor, store_id=store_id, query=query, limit=limit)
