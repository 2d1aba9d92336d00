"""pgvector on PostgreSQL: chunk vectors in a `vector` column, searched through HNSW indexes.

Used instead of the in-process numpy index when the extension is installed (migration 0003
adds the column only then). One column holds vectors of any dimension; each dimension gets
its own partial HNSW index over ``embedding::vector(d)`` (cosine), so stores embedded by
different models share the table without mixing. pgvector ≥ 0.8's iterative index scans
keep the store and attribute filters from starving the results of a small store in a big
table.
"""

from __future__ import annotations

import numpy as np
from django.db import connection

COLUMN_SQL = "ALTER TABLE retrieval_chunk ADD COLUMN IF NOT EXISTS embedding vector"
DROP_SQL = ["ALTER TABLE retrieval_chunk DROP COLUMN IF EXISTS embedding"]

_known: dict[str, bool] = {}
_indexed: set[tuple[str, int]] = set()


def install(cursor) -> bool:
    """Create the extension and the column if the server has pgvector; whether it did."""
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    if cursor.fetchone() is None:
        return False
    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cursor.execute(COLUMN_SQL)
    return True


def enabled() -> bool:
    """Whether this database stores chunk vectors in pgvector (checked once per database)."""
    if connection.vendor != "postgresql":
        return False
    key = connection.settings_dict["NAME"]
    if key not in _known:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'retrieval_chunk' "
                           "AND column_name = 'embedding'")
            _known[key] = cursor.fetchone() is not None
    return _known[key]


def literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def ensure_index(cursor, dim: int) -> None:
    key = (connection.settings_dict["NAME"], dim)
    if key in _indexed:
        return
    cursor.execute(f"CREATE INDEX IF NOT EXISTS retrieval_chunk_hnsw_{dim} ON retrieval_chunk USING hnsw "
                   f"((embedding::vector({dim})) vector_cosine_ops) WHERE vector_dims(embedding) = {dim}")
    _indexed.add(key)


def prepare(dim: int) -> None:
    """Create the HNSW index of dimension ``dim`` if missing. Call outside a transaction that
    inserted chunks: PostgreSQL refuses CREATE INDEX on a table with pending (deferred FK)
    trigger events."""
    with connection.cursor() as cursor:
        ensure_index(cursor, dim)


def write_vectors(rows: list[tuple[int, np.ndarray]]) -> None:
    """Set the pgvector column of the chunks ``rows`` (id, vector); ``prepare`` ran before."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE retrieval_chunk SET embedding = %s::vector WHERE id = %s",
                           [(literal(v), pk) for pk, v in rows])


def knn(*, store_id: str, query: np.ndarray, limit: int, file_pks: set[int] | None) -> list[tuple[int, float]]:
    """(chunk id, cosine) of the store's nearest chunks, best first, through the HNSW index."""
    dim = int(query.shape[0])
    vector = literal(query)
    where = "vector_dims(embedding) = %s AND vector_store_id = %s"
    params: list = [dim, store_id]
    if file_pks is not None:
        where += " AND store_file_id = ANY(%s)"
        params.append(list(file_pks))
    with connection.cursor() as cursor:
        cursor.execute("SET hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET hnsw.ef_search = %s", [max(40, min(1000, limit * 2))])
        cursor.execute(
            f"SELECT id, 1 - (embedding::vector({dim}) <=> %s::vector({dim})) AS score FROM retrieval_chunk "
            f"WHERE {where} ORDER BY embedding::vector({dim}) <=> %s::vector({dim}) LIMIT %s",
            [vector, *params, vector, limit])
        rows = cursor.fetchall()
    # relaxed_order may return near-ties slightly out of order: sort the page exactly.
    return sorted(((int(pk), float(score)) for pk, score in rows), key=lambda r: -r[1])
