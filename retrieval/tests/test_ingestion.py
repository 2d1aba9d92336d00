"""Ingestion without the HTTP layer: leases, the sweep of orphaned files, the model record, the remote embedder."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.utils import timezone

from files.services import file_create
from retrieval.models import Chunk, VectorStore, VectorStoreFile
from retrieval.search.service import search_stores
from retrieval.services.files import attach_files
from retrieval.services.ingest import ingest
from retrieval.services.stores import store_create
from retrieval.tests.helpers import DOCS, wait_for
from retrieval.worker import claim, workers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_server_workers(monkeypatch):
    """These tests drive claim()/ingest() themselves (as a server with ENTITIES_INGEST_WORKERS=0)."""
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")


def new_store(user, docs=DOCS):
    store = store_create(user=user, name="kb", description=None, metadata={}, expires_after=None, file_ids=[],
                         chunking_strategy=None)
    ids = [file_create(user=user, content=text.encode(), filename=name, purpose="assistants").id
           for name, text in docs.items()]
    rows = attach_files(store=store, user=user, items=[{"file_id": i} for i in ids])
    return store, rows


def test_a_claimed_file_is_leased_once(alice):
    _, rows = new_store(alice.user, {"a.txt": "alpha"})
    first = claim("proc-a")
    assert first == rows[0].pk
    assert claim("proc-b") is None  # the lease is held
    assert VectorStoreFile.objects.get(pk=first).attempts == 1


def test_an_orphaned_file_is_retried_then_failed(alice, monkeypatch):
    monkeypatch.setenv("ENTITIES_INGEST_MAX_ATTEMPTS", "2")
    _, rows = new_store(alice.user, {"a.txt": "alpha beta"})
    pk = rows[0].pk
    # A worker that died: its lease ran out.
    assert claim("dead-1") == pk
    VectorStoreFile.objects.filter(pk=pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert claim("dead-2") == pk  # retried
    VectorStoreFile.objects.filter(pk=pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert claim("alive") is None  # two attempts died: the sweep fails it instead
    row = VectorStoreFile.objects.get(pk=pk)
    assert row.status == "failed" and row.last_error["code"] == "server_error"
    assert "stopped 2 times" in row.last_error["message"] and row.lease_owner == ""


def test_work_of_a_lost_lease_is_dropped(alice):
    store, rows = new_store(alice.user, {"a.txt": "alpha beta gamma"})
    pk = rows[0].pk
    assert claim("slow") == pk
    # The sweep gave the file to another worker meanwhile: the slow one must not write.
    VectorStoreFile.objects.filter(pk=pk).update(lease_owner="other")
    assert ingest(pk, "slow") == "abandoned"
    assert not Chunk.objects.filter(store_file_id=pk).exists()
    assert ingest(pk, "other") == "completed"
    assert Chunk.objects.filter(store_file_id=pk).count() == 1


def test_restart_mid_ingestion_ends_every_file(alice, fast_polling):
    """Files leased by a process that died are finished by the workers of the next one."""
    store, rows = new_store(alice.user)
    for row in rows:
        assert claim("killed-process") is not None
    VectorStoreFile.objects.filter(vector_store=store).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    workers.ensure_started(1)
    wait_for(lambda: not VectorStoreFile.objects.filter(vector_store=store, status="in_progress").exists(), timeout=90)
    assert set(VectorStoreFile.objects.filter(vector_store=store).values_list("status", flat=True)) == {"completed"}
    store.refresh_from_db()
    assert store.embedding_model == "all-MiniLM-L6-v2-int8" and store.embedding_dimension == 384


class FakeEmbeddings(BaseHTTPRequestHandler):
    """/v1/embeddings on loopback: a deterministic 8-dimensional bag of letters."""

    calls: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeEmbeddings.calls.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        data = [{"object": "embedding", "index": i, "embedding": _letters(text)} for i, text in enumerate(body["input"])]
        payload = json.dumps({"object": "list", "data": list(reversed(data)), "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def _letters(text: str) -> list[float]:
    v = [0.0] * 8
    for ch in text.lower():
        if "a" <= ch <= "z":
            v[(ord(ch) - 97) % 8] += 1
    return [x + 0.01 for x in v]


@pytest.fixture
def fake_embeddings(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEmbeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeEmbeddings.calls = []
    monkeypatch.setenv("ENTITIES_EMBEDDINGS_URL", f"http://127.0.0.1:{server.server_port}/v1")
    monkeypatch.setenv("ENTITIES_EMBEDDINGS_MODEL", "fake-embed")
    monkeypatch.setenv("ENTITIES_EMBEDDINGS_API_KEY", "sk-test")
    yield server
    server.shutdown()
    server.server_close()


def test_remote_embedder_and_no_mixing(alice, fake_embeddings, monkeypatch):
    from retrieval.embedding import current_embedder

    embedder = current_embedder()
    vectors = embedder.embed(["abc", "hhh"])
    assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert vectors[1][7] > 0.99  # order restored by "index", though the server answered reversed
    assert FakeEmbeddings.calls[0]["path"] == "/v1/embeddings" and FakeEmbeddings.calls[0]["auth"] == "Bearer sk-test"

    store, rows = new_store(alice.user, {"a.txt": "alpha"})
    assert ingest(claim("me"), "me") == "completed"
    store.refresh_from_db()
    assert (store.embedding_model, store.embedding_dimension) == ("remote:fake-embed", 8)
    assert search_stores([store], queries=["alpha"])[0].file_id == rows[0].file_id
    # The server now embeds with another model: this store is refused, never mixed.
    monkeypatch.setenv("ENTITIES_EMBEDDINGS_MODEL", "other-model")
    from kernel.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as exc:
        search_stores([store], queries=["alpha"])
    assert exc.value.code == "embedding_model_mismatch"
    extra = file_create(user=alice.user, content=b"more text", filename="b.txt", purpose="assistants")
    (row,) = attach_files(store=store, user=alice.user, items=[{"file_id": extra.id}])
    assert ingest(claim("me"), "me") == "failed"
    row.refresh_from_db()
    assert row.last_error["code"] == "server_error" and "never mixed" in row.last_error["message"]


def test_remote_embedder_errors_fail_the_file(alice, fake_embeddings, monkeypatch):
    monkeypatch.setenv("ENTITIES_EMBEDDINGS_MODEL", "broken")
    _, rows = new_store(alice.user, {"a.txt": "alpha"})
    assert ingest(claim("me"), "me") == "failed"
    row = VectorStoreFile.objects.get(pk=rows[0].pk)
    assert row.last_error["code"] == "server_error" and "500" in row.last_error["message"]
    assert VectorStore.objects.get(pk=row.vector_store_id).embedding_model == ""


def test_keyword_search_drops_words_most_chunks_have(alice):
    """On a big index a word in most chunks is left out of the keyword query (it only costs time)."""
    from django.db import connection

    from retrieval.search.backend import keyword_search

    store, rows = new_store(alice.user, {"a.txt": "alpha"})
    vector = np.zeros(384, dtype=np.float32).tobytes()
    Chunk.objects.bulk_create([Chunk(vector_store=store, store_file=rows[0], seq=i, vector=vector,
                                     text=f"common filler {'zebra' if i % 400 == 0 else 'plain'} {i}")
                               for i in range(1200)])
    found = keyword_search(store_id=store.pk, query="common zebra", limit=100)
    texts = dict(Chunk.objects.filter(pk__in=[c for c, _ in found]).values_list("pk", "text"))
    assert all("zebra" in texts[c] for c, _ in found[:3])
    if connection.vendor == "sqlite":  # PostgreSQL keeps the word (and ranks the zebra chunks first)
        assert len(found) == 3
        assert keyword_search(store_id=store.pk, query="common", limit=10) == []
