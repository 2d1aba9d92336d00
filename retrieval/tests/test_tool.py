"""The file_search tool functions the run engine calls: results, step details, citations."""

from __future__ import annotations

import json

import pytest

from files.services import file_create
from retrieval.search.service import Hit
from retrieval.services.files import attach_files
from retrieval.services.stores import store_create
from retrieval.tests.helpers import DOCS
from retrieval.tool import FILE_SEARCH_FUNCTION, annotate, run_file_search
from retrieval.worker import claim
from retrieval.services.ingest import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(alice, monkeypatch):
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")
    store = store_create(user=alice.user, name="kb", description=None, metadata={}, expires_after=None,
                         file_ids=[], chunking_strategy=None)
    ids = [file_create(user=alice.user, content=t.encode(), filename=n, purpose="assistants").id
           for n, t in DOCS.items()]
    attach_files(store=store, user=alice.user, items=[{"file_id": i} for i in ids])
    while (pk := claim("t")) is not None:
        assert ingest(pk, "t") == "completed"
    return store


def test_function_schema_is_a_chat_tool():
    assert FILE_SEARCH_FUNCTION["function"]["name"] == "file_search"
    assert FILE_SEARCH_FUNCTION["function"]["parameters"]["required"] == ["query"]


def test_run_file_search_gives_step_details_and_sources(alice, bob, store):
    outcome = run_file_search(user=alice.user, vector_store_ids=[store.id], arguments=json.dumps({"query": "Etna"}),
                              options={"max_num_results": 2, "ranking_options": {"score_threshold": 0.0}},
                              include_content=True)
    assert outcome.step["ranking_options"] == {"ranker": "auto", "score_threshold": 0.0}
    first = outcome.step["results"][0]
    assert first["file_name"] == "volcanoes.md" and 0 < first["score"] <= 1 and "Etna" in first["content"][0]["text"]
    assert len(outcome.step["results"]) == 2
    assert "【0†volcanoes.md】" in outcome.output
    without = run_file_search(user=alice.user, vector_store_ids=[store.id], arguments='{"query": "Etna"}')
    assert "content" not in without.step["results"][0]
    # Another user's store ids find nothing.
    assert run_file_search(user=bob.user, vector_store_ids=[store.id], arguments='{"query": "Etna"}').step["results"] == []
    assert "error" in run_file_search(user=alice.user, vector_store_ids=[store.id], arguments="{}").output


def test_an_expired_store_is_not_searched_in_a_run(alice, store):
    from django.utils import timezone

    from retrieval.models import VectorStore

    VectorStore.objects.filter(pk=store.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))

    outcome = run_file_search(user=alice.user, vector_store_ids=[store.id], arguments='{"query": "Etna"}')

    assert outcome.step["results"] == []
    assert outcome.output == "No passages in the files match this query."


def test_citations_from_markers_and_attributed():
    hits = [Hit(chunk_id=1, score=0.9, file_id="file-a", filename="a.md", text="Mount Etna in Sicily erupts basalt lava"),
            Hit(chunk_id=2, score=0.5, file_id="file-b", filename="b.txt", text="Sourdough bread needs wild yeast")]
    text = "Etna is active 【0†a.md】 and bread rises [1]."
    marks = annotate(text, hits)
    assert [(a["file_citation"]["file_id"], text[a["start_index"]:a["end_index"]]) for a in marks] == \
        [("file-a", "【0†a.md】"), ("file-b", "[1]")]
    plain = "Mount Etna in Sicily erupts basalt lava often. Bread needs wild yeast and sourdough care."
    attributed = annotate(plain, hits)
    assert [a["file_citation"]["file_id"] for a in attributed] == ["file-a", "file-b"]
    assert all(plain[a["start_index"]:a["end_index"]] == a["text"] for a in attributed)
    assert annotate("Nothing related here at all.", hits) == []
