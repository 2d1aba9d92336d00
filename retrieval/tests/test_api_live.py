"""The official openai SDK drives /v1/vector_stores against a live server (real ingestion, real model)."""

from __future__ import annotations

import openai
import pytest

from retrieval.tests.helpers import DOCS, upload, wait_for
from testsupport.live import sdk_for

# The batch poll helpers have no max_wait_seconds: pytest-timeout (pytest.ini) bounds them.
pytestmark = pytest.mark.usefixtures("fast_polling")


def completed_store(sdk, docs=DOCS, attributes=None):
    """A store with ``docs`` attached through a batch, ingested."""
    store = sdk.vector_stores.create(name="kb")
    files = [upload(sdk, name, text) for name, text in docs.items()]
    batch = sdk.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[{"file_id": f.id, "attributes": (attributes or {}).get(f.filename, {"name": f.filename})}
               for f in files])
    assert batch.status == "completed", batch
    return store, {f.filename: f for f in files}


def test_store_crud_and_paging(sdk):
    created = sdk.vector_stores.create(name="notes", metadata={"team": "a"},
                                       expires_after={"anchor": "last_active_at", "days": 7})
    assert created.id.startswith("vs_") and created.object == "vector_store"
    assert created.status == "completed" and created.usage_bytes == 0
    assert created.file_counts.total == 0
    assert created.expires_after.days == 7 and created.expires_at - created.last_active_at == 7 * 86400
    others = [sdk.vector_stores.create(name=f"s{i}") for i in range(3)]
    listed = [s.id for s in sdk.vector_stores.list(limit=2)]  # auto-paging over two pages
    assert listed == [s.id for s in reversed([created, *others])]
    updated = sdk.vector_stores.update(created.id, name="renamed", metadata={"team": "b"}, expires_after=None)
    assert (updated.name, updated.metadata, updated.expires_at) == ("renamed", {"team": "b"}, None)
    assert sdk.vector_stores.retrieve(created.id).name == "renamed"
    deleted = sdk.vector_stores.delete(created.id)
    assert deleted.deleted and deleted.object == "vector_store.deleted"
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.retrieve(created.id)


def test_helpers_ingest_and_search(sdk):
    store = sdk.vector_stores.create(name="kb")
    first = sdk.vector_stores.files.upload_and_poll(vector_store_id=store.id,
                                                    file=("volcanoes.md", DOCS["volcanoes.md"].encode()))
    assert first.status == "completed" and first.last_error is None and first.usage_bytes > 0
    second = upload(sdk, "baking.txt", DOCS["baking.txt"])
    attached = sdk.vector_stores.files.create_and_poll(second.id, vector_store_id=store.id,
                                                       attributes={"topic": "food", "year": 2024})
    assert attached.status == "completed" and attached.attributes == {"topic": "food", "year": 2024}
    batch = sdk.vector_stores.file_batches.upload_and_poll(
        store.id, files=[("tides.html", DOCS["tides.html"].encode())])
    assert batch.status == "completed" and batch.file_counts.completed == 1 and batch.object == "vector_store.files_batch"
    store = sdk.vector_stores.retrieve(store.id)
    assert store.status == "completed"
    assert (store.file_counts.completed, store.file_counts.total, store.file_counts.in_progress) == (3, 3, 0)
    files = list(sdk.vector_stores.files.list(store.id))
    assert store.usage_bytes == sum(f.usage_bytes for f in files) > 0

    results = sdk.vector_stores.search(store.id, query="Which volcano in Sicily is active?").data
    assert results[0].filename == "volcanoes.md" and results[0].file_id == first.id
    assert "Etna" in results[0].content[0].text and results[0].content[0].type == "text"
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    tides = sdk.vector_stores.search(store.id, query="moon ocean tides", max_num_results=1).data
    assert len(tides) == 1 and tides[0].filename == "tides.html"
    assert "alert" not in tides[0].content[0].text  # HTML is indexed as text only
    # Several queries at once, and vector-only ranking (cosine scores).
    multi = sdk.vector_stores.search(store.id, query=["sourdough starter", "lava"],
                                     ranking_options={"ranker": "none"}).data
    assert {r.filename for r in multi[:2]} == {"baking.txt", "volcanoes.md"}
    content = list(sdk.vector_stores.files.content(first.id, vector_store_id=store.id))
    assert content and "Mount Etna" in content[0].text


def test_search_filters_and_threshold(sdk):
    attributes = {"volcanoes.md": {"topic": "geo", "year": 2020, "public": True},
                  "baking.txt": {"topic": "food", "year": 2024, "public": True},
                  "tides.html": {"topic": "geo", "year": 2023, "public": False}}
    store, files = completed_store(sdk, attributes=attributes)

    def names(**kwargs):
        return [r.filename for r in sdk.vector_stores.search(store.id, query="nature and science", **kwargs).data]

    assert set(names()) == set(DOCS)
    assert set(names(filters={"type": "eq", "key": "topic", "value": "geo"})) == {"volcanoes.md", "tides.html"}
    assert set(names(filters={"type": "ne", "key": "topic", "value": "geo"})) == {"baking.txt"}
    assert set(names(filters={"type": "gte", "key": "year", "value": 2023})) == {"baking.txt", "tides.html"}
    assert set(names(filters={"type": "lt", "key": "year", "value": 2023})) == {"volcanoes.md"}
    assert set(names(filters={"type": "and", "filters": [
        {"type": "eq", "key": "topic", "value": "geo"}, {"type": "eq", "key": "public", "value": True}]})) == \
        {"volcanoes.md"}
    assert set(names(filters={"type": "or", "filters": [
        {"type": "eq", "key": "topic", "value": "food"}, {"type": "lte", "key": "year", "value": 2020}]})) == \
        {"baking.txt", "volcanoes.md"}
    assert names(filters={"type": "eq", "key": "topic", "value": "none"}) == []
    everything = sdk.vector_stores.search(store.id, query="Etna volcano lava").data
    assert everything[0].filename == "volcanoes.md" and everything[0].score > 0.9  # first by meaning and by words
    above = sdk.vector_stores.search(store.id, query="Etna volcano lava",
                                     ranking_options={"score_threshold": everything[0].score}).data
    assert [r.filename for r in above] == ["volcanoes.md"]
    assert sdk.vector_stores.search(store.id, query="Etna volcano lava",
                                    ranking_options={"ranker": "none", "score_threshold": 0.99}).data == []
    # OpenAI's hybrid weights: keywords only still rank the file naming Etna first; a score is 1.0 only when
    # first in the one list that counts.
    by_words = sdk.vector_stores.search(store.id, query="Etna", ranking_options={
        "hybrid_search": {"embedding_weight": 0, "text_weight": 1}}).data
    assert [r.filename for r in by_words] == ["volcanoes.md"] and by_words[0].score == 1.0
    # Attribute updates are seen by the next search.
    sdk.vector_stores.files.update(files["baking.txt"].id, vector_store_id=store.id, attributes={"topic": "geo"})
    assert "baking.txt" in names(filters={"type": "eq", "key": "topic", "value": "geo"})


def test_failed_files_carry_last_error(sdk):
    store = sdk.vector_stores.create(name="bad")
    png = upload(sdk, "diagram.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    broken = upload(sdk, "data.json", b"{not json")
    empty = upload(sdk, "empty.txt", b"   ")
    good = upload(sdk, "ok.txt", b"all good here")
    batch = sdk.vector_stores.file_batches.create_and_poll(vector_store_id=store.id,
                                                           file_ids=[png.id, broken.id, empty.id, good.id])
    assert batch.status == "completed" and batch.file_counts.failed == 3 and batch.file_counts.completed == 1
    errors = {f.id: f.last_error for f in sdk.vector_stores.files.list(store.id, filter="failed")}
    assert errors[png.id].code == "unsupported_file" and ".png" in errors[png.id].message
    assert errors[broken.id].code == "invalid_file" and errors[empty.id].code == "invalid_file"
    assert [f.id for f in sdk.vector_stores.files.list(store.id, filter="completed")] == [good.id]
    store = sdk.vector_stores.retrieve(store.id)
    assert (store.file_counts.failed, store.file_counts.completed, store.file_counts.total) == (3, 1, 4)


def test_deletes(sdk):
    store, files = completed_store(sdk)
    other = sdk.vector_stores.create(name="second", file_ids=[files["baking.txt"].id])
    wait_for(lambda: sdk.vector_stores.retrieve(other.id).file_counts.completed == 1)
    # Detaching leaves the file; deleting the file leaves every store.
    gone = sdk.vector_stores.files.delete(files["tides.html"].id, vector_store_id=store.id)
    assert gone.deleted and gone.object == "vector_store.file.deleted"
    assert sdk.files.retrieve(files["tides.html"].id).id == files["tides.html"].id
    assert "tides.html" not in {r.filename for r in sdk.vector_stores.search(store.id, query="moon tides").data}
    sdk.files.delete(files["baking.txt"].id)
    for store_id in (store.id, other.id):
        with pytest.raises(openai.NotFoundError):
            sdk.vector_stores.files.retrieve(files["baking.txt"].id, vector_store_id=store_id)
    assert sdk.vector_stores.retrieve(other.id).file_counts.total == 0
    assert sdk.vector_stores.retrieve(other.id).usage_bytes == 0
    remaining = sdk.vector_stores.retrieve(store.id)
    assert remaining.file_counts.total == 1
    assert {r.filename for r in sdk.vector_stores.search(store.id, query="bread or moon or lava").data} == \
        {"volcanoes.md"}


def test_batch_cancel_and_listing(sdk):
    store = sdk.vector_stores.create(name="cancel")
    ids = [upload(sdk, f"doc{i}.txt", f"Document {i} about subject {i}. " * 200).id for i in range(8)]
    batch = sdk.vector_stores.file_batches.create(store.id, file_ids=ids)
    assert batch.status == "in_progress" and batch.file_counts.total == 8
    cancelled = sdk.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    counts = wait_for(lambda: (b := sdk.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id))
                      .file_counts.in_progress == 0 and b.file_counts)
    assert counts.cancelled >= 1 and counts.cancelled + counts.completed == 8
    listed = list(sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, limit=3))
    assert sorted(f.id for f in listed) == sorted(ids)
    assert len(list(sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id,
                                                              filter="cancelled"))) == counts.cancelled
    # A cancelled file can be attached again and is then ingested.
    again = sdk.vector_stores.files.create_and_poll(
        next(f.id for f in listed if f.status == "cancelled"), vector_store_id=store.id)
    assert again.status == "completed"


def test_expiry(sdk):
    from datetime import timedelta

    from django.utils import timezone

    from retrieval.models import VectorStore

    store = sdk.vector_stores.create(name="old", expires_after={"anchor": "last_active_at", "days": 1})
    VectorStore.objects.filter(pk=store.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = sdk.vector_stores.retrieve(store.id)
    assert expired.status == "expired"
    with pytest.raises(openai.BadRequestError) as exc:
        sdk.vector_stores.search(store.id, query="anything")
    assert exc.value.code == "vector_store_expired"
    with pytest.raises(openai.BadRequestError):
        sdk.vector_stores.files.upload(vector_store_id=store.id, file=("a.txt", b"text"))
    assert sdk.vector_stores.delete(store.id).deleted


def test_another_user_gets_404_everywhere(live_entities, sdk, bob):
    store, files = completed_store(sdk, docs={"baking.txt": DOCS["baking.txt"]})
    file_id = files["baking.txt"].id
    batch = sdk.vector_stores.file_batches.create(store.id, file_ids=[file_id])
    b = sdk_for(live_entities, bob)
    calls = [
        lambda: b.vector_stores.retrieve(store.id),
        lambda: b.vector_stores.update(store.id, name="x"),
        lambda: b.vector_stores.delete(store.id),
        lambda: b.vector_stores.search(store.id, query="bread"),
        lambda: b.vector_stores.files.list(store.id),
        lambda: b.vector_stores.files.create(store.id, file_id=file_id),
        lambda: b.vector_stores.files.retrieve(file_id, vector_store_id=store.id),
        lambda: b.vector_stores.files.update(file_id, vector_store_id=store.id, attributes={}),
        lambda: b.vector_stores.files.delete(file_id, vector_store_id=store.id),
        lambda: b.vector_stores.files.content(file_id, vector_store_id=store.id),
        lambda: b.vector_stores.file_batches.create(store.id, file_ids=[file_id]),
        lambda: b.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id),
        lambda: b.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id),
        lambda: b.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError):
            call()
    # Bob cannot put Alice's file into his own store either.
    own = b.vector_stores.create(name="bob's")
    with pytest.raises(openai.NotFoundError):
        b.vector_stores.files.create(own.id, file_id=file_id)
    assert [s.id for s in b.vector_stores.list()] == [own.id]
    assert sdk.vector_stores.retrieve(store.id).file_counts.completed == 1


@pytest.mark.parametrize("kwargs", [
    {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}},
    {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150}}},
    {"expires_after": {"anchor": "created_at", "days": 1}},
    {"file_ids": ["file-doesnotexist"]},
])
def test_bad_store_bodies(sdk, kwargs):
    with pytest.raises((openai.BadRequestError, openai.NotFoundError)):
        sdk.vector_stores.create(**kwargs)
    assert list(sdk.vector_stores.list()) == []


def test_bad_search_bodies(sdk):
    store = sdk.vector_stores.create(name="s")
    for kwargs in ({"query": "x", "max_num_results": 51}, {"query": ""},
                   {"query": "x", "filters": {"type": "between", "key": "a", "value": 1}},
                   {"query": "x", "ranking_options": {"score_threshold": 2}},
                   {"query": "x", "ranking_options": {"hybrid_search": {"embedding_weight": 0, "text_weight": 0}}},
                   {"query": "x", "ranking_options": {"hybrid_search": {"embedding_weight": 1}}}):
        with pytest.raises(openai.BadRequestError):
            sdk.vector_stores.search(store.id, **kwargs)
    with pytest.raises(openai.BadRequestError):
        sdk.vector_stores.files.list(store.id, filter="done")  # type: ignore[arg-type]


def test_static_chunking_is_applied(sdk):
    store = sdk.vector_stores.create(name="static")
    text = " ".join(f"Fact {i}: the number {i} is {'even' if i % 2 == 0 else 'odd'}." for i in range(300))
    f = upload(sdk, "facts.txt", text)
    row = sdk.vector_stores.files.create_and_poll(
        f.id, vector_store_id=store.id,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}})
    assert row.status == "completed"
    assert row.chunking_strategy.static.max_chunk_size_tokens == 100
    chunks = list(sdk.vector_stores.files.content(f.id, vector_store_id=store.id))
    from retrieval.tokenizer import count_tokens

    assert len(chunks) > 10 and max(count_tokens(c.text) for c in chunks) <= 100
