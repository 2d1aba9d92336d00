"""Hostile and malformed input on every retrieval route: the error envelope (400/404), never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(alice, monkeypatch):
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {alice.api_key}")

    def call(method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": "application/json"} if data is not None else {}
        response = getattr(client, method)(f"/v1{path}", data=data, **kwargs) if data is not None else \
            getattr(client, method)(f"/v1{path}")
        return response.status_code, (response.json() if response.content else None)

    return call


def test_malformed_bodies_and_params(api):
    status, store = api("post", "/vector_stores", {"name": "s"})
    assert status == 200
    sid = store["id"]
    cases = [
        ("post", "/vector_stores", None, b"{not json"),
        ("post", "/vector_stores", None, b"[1, 2]"),
        ("post", "/vector_stores", {"name": 5}, None),
        ("post", "/vector_stores", {"unknown": 1}, None),
        ("post", "/vector_stores", {"metadata": {"k": {"nested": 1}}}, None),
        ("post", "/vector_stores", {"file_ids": "file-x"}, None),
        ("post", "/vector_stores", {"expires_after": {"anchor": "last_active_at", "days": 0}}, None),
        ("post", "/vector_stores", {"chunking_strategy": {"type": "static"}}, None),
        ("post", f"/vector_stores/{sid}", {"name": "x" * 300}, None),
        ("post", f"/vector_stores/{sid}/files", {}, None),
        ("post", f"/vector_stores/{sid}/files", {"file_id": "file-x", "attributes": {"a": [1]}}, None),
        ("post", f"/vector_stores/{sid}/files", {"file_id": "file-x", "attributes": {str(i): i for i in range(17)}}, None),
        ("post", f"/vector_stores/{sid}/file_batches", {}, None),
        ("post", f"/vector_stores/{sid}/file_batches", {"file_ids": []}, None),
        ("post", f"/vector_stores/{sid}/file_batches", {"file_ids": ["a"], "files": [{"file_id": "a"}]}, None),
        ("post", f"/vector_stores/{sid}/file_batches", {"files": [{"attributes": {}}]}, None),
        ("post", f"/vector_stores/{sid}/search", {}, None),
        ("post", f"/vector_stores/{sid}/search", {"query": 5}, None),
        ("post", f"/vector_stores/{sid}/search", {"query": []}, None),
        ("post", f"/vector_stores/{sid}/search", {"query": "x", "max_num_results": 0}, None),
        ("post", f"/vector_stores/{sid}/search", {"query": "x", "filters": {"type": "and", "filters": "no"}}, None),
        ("post", f"/vector_stores/{sid}/search", {"query": "x", "ranking_options": {"ranker": "best"}}, None),
        ("get", "/vector_stores?limit=abc", None, None),
        ("get", "/vector_stores?limit=1000", None, None),
        ("get", "/vector_stores?order=up", None, None),
        ("get", "/vector_stores?after=vs_unknown", None, None),
        ("get", f"/vector_stores/{sid}/files?filter=nope", None, None),
        ("get", f"/vector_stores/{sid}/files?after=file-unknown", None, None),
    ]
    for method, path, body, raw in cases:
        status, payload = api(method, path, body, raw)
        assert status == 400, (path, body, raw, status, payload)
        assert payload["error"]["type"] == "invalid_request_error" and payload["error"]["message"]
    for path in ("/vector_stores/vs_nope", f"/vector_stores/{sid}/files/file-nope",
                 f"/vector_stores/{sid}/files/file-nope/content", f"/vector_stores/{sid}/file_batches/vsfb_nope",
                 f"/vector_stores/{sid}/file_batches/vsfb_nope/files"):
        status, payload = api("get", path)
        assert status == 404 and payload["error"]["code"] == "not_found", path
    status, payload = api("post", f"/vector_stores/{sid}/files", {"file_id": "file-nope"})
    assert status == 404


def test_search_text_is_never_query_syntax(api, alice):
    from files.services import file_create
    from retrieval.services.ingest import ingest
    from retrieval.worker import claim

    f = file_create(user=alice.user, content=b"Columns AND rows: a table NEAR the value x", filename="t.txt",
                    purpose="assistants")
    _, store = api("post", "/vector_stores", {"name": "s", "file_ids": [f.id]})
    assert ingest(claim("t"), "t") == "completed"
    for query in ['"unbalanced', "a AND (b OR", "NEAR(x y)", "col:value*", "'; DROP TABLE x; --", "ü∂ß 漢字", "&|!<->"]:
        status, payload = api("post", f"/vector_stores/{store['id']}/search", {"query": query})
        # FTS5 / tsquery syntax in a query is plain text: the search answers (by meaning at least).
        assert status == 200 and [r["file_id"] for r in payload["data"]] == [f.id], (query, payload)
