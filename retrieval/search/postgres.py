"""PostgreSQL keyword index: a generated tsvector column with a GIN index (English stemming)."""

from __future__ import annotations

INSTALL = [
    "ALTER TABLE retrieval_chunk ADD COLUMN IF NOT EXISTS tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
    "CREATE INDEX IF NOT EXISTS retrieval_chunk_tsv ON retrieval_chunk USING gin (tsv)",
]
UNINSTALL = [
    "DROP INDEX IF EXISTS retrieval_chunk_tsv",
    "ALTER TABLE retrieval_chunk DROP COLUMN IF EXISTS tsv",
]


def keyword_search(cursor, *, store_id: str, query: str, limit: int) -> list[tuple[int, float]]:
    """(chunk id, ts_rank_cd) best first; any of the query's words matches (OR)."""
    cursor.execute(
        "WITH q AS (SELECT NULLIF(replace(plainto_tsquery('english', %s)::text, '&', '|'), '')::tsquery AS q) "
        "SELECT c.id, ts_rank_cd(c.tsv, q.q) AS score FROM retrieval_chunk c, q "
        "WHERE q.q IS NOT NULL AND c.vector_store_id = %s AND c.tsv @@ q.q "
        "ORDER BY score DESC, c.id LIMIT %s",
        [query, store_id, limit],
    )
    return [(int(row[0]), float(row[1])) for row in cursor.fetchall()]
