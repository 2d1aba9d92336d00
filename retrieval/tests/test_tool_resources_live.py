"""Assistants and threads name vector stores in `tool_resources.file_search`, the official SDK
against a live server: the `vector_stores` helper creates a store, `vector_store_ids` must be
the caller's own, and `file_search` attachments fill the thread's own store, which a run searches.
"""

from __future__ import annotations

import openai
import pytest

from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, fake_openai, …
from retrieval.tests.helpers import DOCS, upload, wait_for
from testsupport.live import sdk_for
from testsupport.scenarios import Reply, ToolCalls

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fast_polling")]
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}
SEARCH = {"type": "file_search"}


def _uploads(sdk, *names):
    return [upload(sdk, name, DOCS[name]) for name in names]


def _ingested(sdk, store_id, count):
    """The store once ``count`` files are completed (fails after the helper's timeout)."""
    return wait_for(lambda: (s := sdk.vector_stores.retrieve(store_id)).file_counts.completed == count and s)


def _error(call, status=openai.BadRequestError) -> dict:
    with pytest.raises(status) as caught:
        call()
    return caught.value.body


@pytest.fixture
def bobs_store(live_entities, bob):
    return sdk_for(live_entities, bob).vector_stores.create(name="bob's").id


def test_it_creates_the_assistants_store_from_the_helper(sdk):
    volcanoes, baking = _uploads(sdk, "volcanoes.md", "baking.txt")
    assistant = sdk.beta.assistants.create(model="demo/echo", tools=[SEARCH], tool_resources={"file_search": {
        "vector_stores": [{"file_ids": [volcanoes.id, baking.id], "chunking_strategy": STATIC,
                           "metadata": {"team": "geo"}}]}})

    (store_id,) = assistant.tool_resources.file_search.vector_store_ids
    assert assistant.tool_resources.model_dump(exclude_none=True) == {"file_search": {"vector_store_ids": [store_id]}}
    assert sdk.beta.assistants.retrieve(assistant.id).tool_resources == assistant.tool_resources
    store = _ingested(sdk, store_id, 2)
    assert (store.metadata, store.status, store.file_counts.total, store.file_counts.failed) == (
        {"team": "geo"}, "completed", 2, 0)
    files = list(sdk.vector_stores.files.list(store_id))
    assert {f.id for f in files} == {volcanoes.id, baking.id}
    assert {f.chunking_strategy.static.max_chunk_size_tokens for f in files} == {200}
    hits = sdk.vector_stores.search(store_id, query="active volcano in Sicily").data
    assert hits[0].file_id == volcanoes.id


def test_it_creates_a_new_store_on_assistant_update_and_keeps_own_store_ids(sdk):
    (volcanoes,) = _uploads(sdk, "volcanoes.md")
    own = sdk.vector_stores.create(name="own")
    assistant = sdk.beta.assistants.create(model="demo/echo",
                                           tool_resources={"file_search": {"vector_store_ids": [own.id]}})
    assert assistant.tool_resources.file_search.vector_store_ids == [own.id]

    updated = sdk.beta.assistants.update(assistant.id, tool_resources={"file_search": {
        "vector_stores": [{"file_ids": [volcanoes.id]}]}})

    (new_id,) = updated.tool_resources.file_search.vector_store_ids
    assert new_id != own.id and _ingested(sdk, new_id, 1).file_counts.total == 1


def test_it_creates_the_threads_store_from_the_helper_on_create_modify_and_create_and_run(sdk):
    (tides,) = _uploads(sdk, "tides.html")
    helper = {"file_search": {"vector_stores": [{"file_ids": [tides.id]}]}}
    thread = sdk.beta.threads.create(tool_resources=helper)
    (first,) = thread.tool_resources.file_search.vector_store_ids
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [first]

    modified = sdk.beta.threads.update(thread.id, tool_resources=helper)
    (second,) = modified.tool_resources.file_search.vector_store_ids
    assistant = sdk.beta.assistants.create(model="demo/echo")
    run = sdk.beta.threads.create_and_run(assistant_id=assistant.id, thread={"tool_resources": helper})
    (third,) = sdk.beta.threads.retrieve(run.thread_id).tool_resources.file_search.vector_store_ids

    assert len({first, second, third}) == 3
    for store_id in (first, second, third):
        assert [f.id for f in sdk.vector_stores.files.list(store_id)] == [tides.id]
        assert _ingested(sdk, store_id, 1).status == "completed"


def test_another_users_or_an_unknown_store_id_is_a_400_naming_the_param(sdk, bobs_store):
    assistant = sdk.beta.assistants.create(model="demo/echo")
    thread = sdk.beta.threads.create()
    calls = {
        "tool_resources.file_search.vector_store_ids[0]": [
            lambda ids: sdk.beta.assistants.create(model="demo/echo", tool_resources={"file_search": {"vector_store_ids": ids}}),
            lambda ids: sdk.beta.assistants.update(assistant.id, tool_resources={"file_search": {"vector_store_ids": ids}}),
            lambda ids: sdk.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": ids}}),
            lambda ids: sdk.beta.threads.update(thread.id, tool_resources={"file_search": {"vector_store_ids": ids}}),
        ],
        "thread.tool_resources.file_search.vector_store_ids[0]": [
            lambda ids: sdk.beta.threads.create_and_run(assistant_id=assistant.id, thread={
                "tool_resources": {"file_search": {"vector_store_ids": ids}}}),
        ],
    }
    for param, variants in calls.items():
        for call in variants:
            for ids in ([bobs_store], ["vs_unknown"]):
                body = _error(lambda: call(ids))
                assert (body["param"], body["code"], body["type"]) == (param, "invalid_vector_store_id",
                                                                      "invalid_request_error"), body
    assert sdk.beta.assistants.retrieve(assistant.id).tool_resources.file_search is None
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search is None
    assert [a.id for a in sdk.beta.assistants.list()] == [assistant.id]


def test_a_bad_file_in_the_helper_is_a_400_and_leaves_nothing_made(sdk, live_entities, bob):
    (mine,) = _uploads(sdk, "baking.txt")
    bobs_file = upload(sdk_for(live_entities, bob), "bob.txt", "Bob's notes.")
    for bad in ("file-nope", bobs_file.id):
        resources = {"file_search": {"vector_stores": [{"file_ids": [mine.id, bad]}]}}
        body = _error(lambda: sdk.beta.assistants.create(model="demo/echo", tool_resources=resources))
        assert (body["param"], body["code"]) == ("tool_resources.file_search.vector_stores[0].file_ids[1]",
                                                 "invalid_file_id"), body
        body = _error(lambda: sdk.beta.threads.create(tool_resources=resources))
        assert body["param"] == "tool_resources.file_search.vector_stores[0].file_ids[1]", body
    body = _error(lambda: sdk.beta.assistants.create(model="demo/echo", tool_resources={"file_search": {
        "vector_stores": [{"file_ids": [mine.id], "chunking_strategy": {"type": "static"}}]}}))
    assert body["param"] == "tool_resources.file_search.vector_stores[0].chunking_strategy.static", body

    assert list(sdk.vector_stores.list()) == [] and list(sdk.beta.assistants.list()) == []


def test_a_file_search_attachment_fills_the_threads_own_store_and_a_run_finds_it(sdk, cloud):
    volcanoes, baking = _uploads(sdk, "volcanoes.md", "baking.txt")
    thread = sdk.beta.threads.create()
    sdk.beta.threads.messages.create(thread.id, role="user", content="Here are my notes.",
                                     attachments=[{"file_id": volcanoes.id, "tools": [SEARCH]}])
    (store_id,) = sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    store = sdk.vector_stores.retrieve(store_id)
    assert store.name == f"Thread {thread.id}"
    assert (store.expires_after.anchor, store.expires_after.days) == ("last_active_at", 7)
    # A later attachment (here a run's additional message) goes into the same store.
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[SEARCH])
    _ingested(sdk, store_id, 1)
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply(["Etna."]))

    run = sdk.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50, additional_messages=[
            {"role": "user", "content": "Which volcano is active?",
             "attachments": [{"file_id": baking.id, "tools": [SEARCH]}]}])

    assert run.status == "completed", run.last_error
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [store_id]
    assert {f.id for f in sdk.vector_stores.files.list(store_id)} == {volcanoes.id, baking.id}
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "file_search" and call.file_search.results[0].file_id == volcanoes.id
    assert "Etna" in cloud.requests[1]["messages"][-1]["content"]


def test_attachments_on_thread_create_and_create_and_run_make_one_store_each(sdk):
    volcanoes, tides = _uploads(sdk, "volcanoes.md", "tides.html")
    thread = sdk.beta.threads.create(messages=[
        {"role": "user", "content": "one", "attachments": [{"file_id": volcanoes.id, "tools": [SEARCH]}]},
        {"role": "user", "content": "two", "attachments": [{"file_id": tides.id, "tools": [SEARCH]},
                                                           {"file_id": volcanoes.id, "tools": [SEARCH]}]},
        {"role": "user", "content": "code only", "attachments": [{"file_id": tides.id,
                                                                  "tools": [{"type": "code_interpreter"}]}]}])
    (store_id,) = thread.tool_resources.file_search.vector_store_ids
    assert {f.id for f in sdk.vector_stores.files.list(store_id)} == {volcanoes.id, tides.id}

    assistant = sdk.beta.assistants.create(model="demo/echo")
    run = sdk.beta.threads.create_and_run(assistant_id=assistant.id, thread={"messages": [
        {"role": "user", "content": "hi", "attachments": [{"file_id": tides.id, "tools": [SEARCH]}]}]})
    (other,) = sdk.beta.threads.retrieve(run.thread_id).tool_resources.file_search.vector_store_ids
    assert other != store_id and [f.id for f in sdk.vector_stores.files.list(other)] == [tides.id]
    assert _ingested(sdk, store_id, 2).status == "completed"
    # A message without file_search attachments makes no store.
    plain = sdk.beta.threads.create(messages=[{"role": "user", "content": "no files"}])
    assert plain.tool_resources.file_search is None
    assert len(list(sdk.vector_stores.list())) == 2


def test_a_run_searches_only_what_is_ingested_so_far(sdk, cloud, monkeypatch):
    # No ingestion workers in this server: the attached file stays in_progress.
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")
    volcanoes, baking = _uploads(sdk, "volcanoes.md", "baking.txt")
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[SEARCH])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Which volcano is active?",
                                                "attachments": [{"file_id": volcanoes.id, "tools": [SEARCH]}]}])
    (store_id,) = thread.tool_resources.file_search.vector_store_ids
    search = ToolCalls([("file_search", '{"query": "active volcano in Europe"}')])
    cloud.push(search, Reply(["Nothing yet."]))

    early = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)

    assert early.status == "completed", early.last_error
    assert sdk.vector_stores.files.retrieve(volcanoes.id, vector_store_id=store_id).status == "in_progress"
    (step, _) = sdk.beta.threads.runs.steps.list(early.id, thread_id=thread.id, order="asc").data
    assert step.step_details.tool_calls[0].file_search.results == []
    assert cloud.requests[1]["messages"][-1]["content"] == "No passages in the files match this query."

    # Workers again; the next attachment's commit wakes them, and both files get ingested.
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "1")
    sdk.beta.threads.messages.create(thread.id, role="user", content="And bread?",
                                     attachments=[{"file_id": baking.id, "tools": [SEARCH]}])
    _ingested(sdk, store_id, 2)
    cloud.push(search, Reply(["Etna."]))
    late = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    (step, _) = sdk.beta.threads.runs.steps.list(late.id, thread_id=thread.id, order="asc").data
    assert step.step_details.tool_calls[0].file_search.results[0].file_id == volcanoes.id


def test_an_attachment_goes_into_the_store_the_thread_names_or_a_new_one_once_it_is_gone(sdk):
    volcanoes, tides = _uploads(sdk, "volcanoes.md", "tides.html")
    own = sdk.vector_stores.create(name="mine")
    thread = sdk.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": [own.id]}})

    sdk.beta.threads.messages.create(thread.id, role="user", content="a",
                                     attachments=[{"file_id": volcanoes.id, "tools": [SEARCH]}])
    assert [f.id for f in sdk.vector_stores.files.list(own.id)] == [volcanoes.id]
    assert sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [own.id]

    sdk.vector_stores.delete(own.id)
    sdk.beta.threads.messages.create(thread.id, role="user", content="b",
                                     attachments=[{"file_id": tides.id, "tools": [SEARCH]}])
    (fresh,) = sdk.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    assert fresh != own.id and [f.id for f in sdk.vector_stores.files.list(fresh)] == [tides.id]
