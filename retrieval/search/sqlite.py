"""SQLite keyword index: an FTS5 table (porter stemming) that triggers keep in step with chunks."""

from __future__ import annotations

import re

INSTALL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS retrieval_chunk_fts USING fts5(text, content='retrieval_chunk', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS retrieval_chunk_ai AFTER INSERT ON retrieval_chunk BEGIN "
    "INSERT INTO retrieval_chunk_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS retrieval_chunk_ad AFTER DELETE ON retrieval_chunk BEGIN "
    "INSERT INTO retrieval_chunk_fts(retrieval_chunk_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS retrieval_chunk_au AFTER UPDATE OF text ON retrieval_chunk BEGIN "
    "INSERT INTO retrieval_chunk_fts(retrieval_chunk_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO retrieval_chunk_fts(rowid, text) VALUES (new.id, new.text); END",
]
UNINSTALL = [
    "DROP TRIGGER IF EXISTS retrieval_chunk_ai",
    "DROP TRIGGER IF EXISTS retrieval_chunk_ad",
    "DROP TRIGGER IF EXISTS retrieval_chunk_au",
    "DROP TABLE IF EXISTS retrieval_chunk_fts",
]

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match nearly every chunk: they add no ranking signal but make FTS5 walk and
# score most of the index (PostgreSQL's 'english' configuration drops the same kind of words).
STOPWORDS = frozenset("""a an and are as at be but by can do does did for from had has have how i if in into is it
its of on or so that the their then there these they this to was were what when where which who why will with
you your about after all also any been more most not no only other our out over some such than them very""".split())


def match_expression(query: str) -> str:
    """Any of the query's words but stopwords, each quoted (FTS5 syntax in a query is just text)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    kept = [w for w in words if w not in STOPWORDS] or words  # a query of stopwords only still searches
    return " OR ".join(f'"{w}"' for w in kept[:64])


def keyword_search(cursor, *, store_id: str, query: str, limit: int) -> list[tuple[int, float]]:
    """(chunk id, score) best first; score = -bm25 (higher is better)."""
    expression = match_expression(query)
    if not expression:
        return []
    cursor.execute(
        "SELECT c.id, -bm25(retrieval_chunk_fts) AS score FROM retrieval_chunk_fts "
        "JOIN retrieval_chunk c ON c.id = retrieval_chunk_fts.rowid "
        "WHERE retrieval_chunk_fts MATCH %s AND c.vector_store_id = %s "
        "ORDER BY bm25(retrieval_chunk_fts) LIMIT %s",
        [expression, store_id, limit],
    )
    return [(int(row[0]), float(row[1])) for row in cursor.fetchall()]
