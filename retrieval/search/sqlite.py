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


def query_words(query: str) -> list[str]:
    """The query's distinct words but stopwords (each is quoted in MATCH: FTS5 syntax is just text)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    return ([w for w in words if w not in STOPWORDS] or words)[:64]  # a query of stopwords only still searches


def match_expression(query: str) -> str:
    """Any of the query's words but stopwords, each quoted."""
    return " OR ".join(f'"{w}"' for w in query_words(query))


# A query word found in more than this share of the indexed chunks is dropped from the query:
# BM25 gives it almost no weight (its IDF is near 0), but scoring every chunk it matches is
# most of the query's time (at 100,000 chunks, 76 ms → 16 ms on the bench's queries).
MAX_DOC_SHARE = 0.3


def _selective_words(cursor, words: list[str]) -> list[str]:
    if len(words) == 0:
        return words
    cursor.execute("SELECT max(rowid) FROM retrieval_chunk_fts_docsize")
    indexed = cursor.fetchone()[0] or 0  # an upper bound of the count (deleted rows leave gaps): keeps more
    if indexed < 1000:
        return words  # small indexes are cheap to score whole
    kept = []
    for word in words:
        cursor.execute("SELECT count(*) FROM retrieval_chunk_fts WHERE retrieval_chunk_fts MATCH %s", [f'"{word}"'])
        if cursor.fetchone()[0] <= MAX_DOC_SHARE * indexed:
            kept.append(word)
    return kept


def keyword_search(cursor, *, store_id: str, query: str, limit: int) -> list[tuple[int, float]]:
    """(chunk id, score) best first; score = -bm25 (higher is better)."""
    words = _selective_words(cursor, query_words(query))
    if not words:
        return []
    cursor.execute(
        "SELECT c.id, -bm25(retrieval_chunk_fts) AS score FROM retrieval_chunk_fts "
        "JOIN retrieval_chunk c ON c.id = retrieval_chunk_fts.rowid "
        "WHERE retrieval_chunk_fts MATCH %s AND c.vector_store_id = %s "
        "ORDER BY bm25(retrieval_chunk_fts) LIMIT %s",
        [" OR ".join(f'"{w}"' for w in words), store_id, limit],
    )
    return [(int(row[0]), float(row[1])) for row in cursor.fetchall()]
