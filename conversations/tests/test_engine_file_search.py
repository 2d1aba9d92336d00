"""file_search in runs: the model is offered the search function when the run has stores; its
call runs the search here, the step shows the results, and the reply cites the file.

Live server + official SDK + the fake OpenAI server on loopback; real ingestion and embedding.
"""

from __future__ import annotations

import json

import pytest

from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, fake_openai, …
from retrieval.tests.conftest import _stop_ingest_workers, fast_polling  # noqa: F401 — fixtures
from retrieval.tests.helpers import DOCS, upload
from testsupport.scenarios import Reply, ToolCalls

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fast_polling")]
CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
ANSWER = "Mount Etna in Sicily is one of the most active volcanoes 【0†volcanoes.md】."


def _assistant_with_store(sdk):
    files = [upload(sdk, name, text) for name, text in DOCS.items()]
    store = sdk.vector_stores.create(name="kb")
    batch = sdk.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[f.id for f in files])
    assert batch.status == "completed" and batch.file_counts.completed == len(DOCS), batch
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{"type": "file_search"}],
                                           tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    return assistant, {f.filename: f for f in files}


def _check_step(call, volcano_id, *, content: bool):
    assert call.type == "file_search"
    assert call.file_search.ranking_options.ranker == "auto"
    assert call.file_search.ranking_options.score_threshold == 0.0
    results = call.file_search.results
    assert results and results[0].file_id == volcano_id and results[0].file_name == "volcanoes.md"
    assert 0 < results[0].score <= 1
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    if content:
        assert "Etna" in results[0].content[0].text and results[0].content[0].type == "text"
    else:
        assert all(not getattr(r, "content", None) for r in results)


def _check_reply(sdk, thread_id, volcano_id):
    (reply,) = [m for m in sdk.beta.threads.messages.list(thread_id=thread_id).data if m.role == "assistant"]
    text = reply.content[0].text
    assert text.value == ANSWER
    (citation,) = text.annotations
    assert citation.type == "file_citation" and citation.file_citation.file_id == volcano_id
    assert text.value[citation.start_index:citation.end_index] == citation.text == "【0†volcanoes.md】"


def test_a_run_searches_the_store_and_cites_the_file(sdk, cloud):
    assistant, files = _assistant_with_store(sdk)
    volcano_id = files["volcanoes.md"].id
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply([ANSWER]))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Which volcano is active?"}])

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
                                                include=[CONTENT])

    assert run.status == "completed", run.last_error
    assert [t["function"]["name"] for t in cloud.requests[0]["tools"]] == ["file_search"]
    tool_message = cloud.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "Etna" in tool_message["content"] and "【0†volcanoes.md】" in tool_message["content"]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    _check_step(steps[0].step_details.tool_calls[0], volcano_id, content=False)
    with_content = sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id,
                                                        include=[CONTENT])
    _check_step(with_content.step_details.tool_calls[0], volcano_id, content=True)
    _check_reply(sdk, thread.id, volcano_id)


def test_the_streamed_run_shows_the_search_as_step_deltas(sdk, cloud):
    assistant, files = _assistant_with_store(sdk)
    volcano_id = files["volcanoes.md"].id
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply([ANSWER]))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Which volcano is active?"}])

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = list(stream)
        final = stream.get_final_run()

    assert final.status == "completed"
    deltas = [e.data.delta.step_details.tool_calls[0] for e in events if e.event == "thread.run.step.delta"]
    assert deltas and all(d.type == "file_search" for d in deltas)
    assert any(d.file_search and d.file_search.get("results") for d in deltas) or any(
        getattr(d.file_search, "results", None) for d in deltas)
    (done,) = [e.data for e in events if e.event == "thread.run.step.completed" and e.data.type == "tool_calls"]
    _check_step(done.step_details.tool_calls[0], volcano_id, content=False)
    _check_reply(sdk, thread.id, volcano_id)


def test_a_run_created_with_include_streams_the_content(sdk, cloud):
    assistant, files = _assistant_with_store(sdk)
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply([ANSWER]))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Which volcano is active?"}])

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, include=[CONTENT]) as stream:
        events = list(stream)

    results = [e.data.delta.step_details.tool_calls[0].file_search.get("results") for e in events
               if e.event == "thread.run.step.delta" and e.data.delta.step_details.tool_calls[0].file_search]
    assert results and "Etna" in results[-1][0]["content"][0]["text"]
    (done,) = [e.data for e in events if e.event == "thread.run.step.completed" and e.data.type == "tool_calls"]
    _check_step(done.step_details.tool_calls[0], files["volcanoes.md"].id, content=True)


def test_without_stores_the_search_is_not_offered(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{"type": "file_search"}])
    cloud.push(Reply(["No files."]))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "completed"
    assert not cloud.requests[0].get("tools")
    assert json.dumps(cloud.requests[0]).count("file_search") == 0


def test_a_replayed_stream_shows_the_search_as_the_live_one_did(sdk, cloud, live_entities, alice):
    import httpx

    from testsupport.sse import forget_event_log, parse_sse

    assistant, files = _assistant_with_store(sdk)
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply([ANSWER]))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Which volcano is active?"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50)
    assert run.status == "completed"

    forget_event_log(live_entities, run.id)
    events = parse_sse(httpx.get(f"{live_entities.v1}/threads/{thread.id}/runs/{run.id}/events", timeout=20,
                                 headers={**alice.headers, "Last-Event-ID": "0"}).text)

    calls = [e.json()["delta"]["step_details"]["tool_calls"][0] for e in events if e.event == "thread.run.step.delta"]
    assert [c["type"] for c in calls] == ["file_search", "file_search"]
    assert calls[1]["file_search"]["results"][0]["file_id"] == files["volcanoes.md"].id
    assert "content" not in calls[1]["file_search"]["results"][0]
