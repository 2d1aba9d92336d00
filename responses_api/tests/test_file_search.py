"""file_search on the Responses API: the tool names its vector stores, the model's search runs
here (real ingestion and embedding), the output shows a file_search_call and the reply cites
the file; streamed with the search's progress events.
"""

from __future__ import annotations

import openai
import pytest

from retrieval.tests.conftest import _stop_ingest_workers, fast_polling  # noqa: F401 - fixtures
from retrieval.tests.helpers import DOCS, upload
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.live import sdk_for
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import cloud  # noqa: F401 - a fixture

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.usefixtures("fast_polling")]
ANSWER = "Mount Etna in Sicily is one of the most active volcanoes 【0†volcanoes.md】."
SEARCH = ToolCalls([("file_search", '{"query": "active volcano in Europe"}')])


def _store(sdk) -> tuple[str, dict]:
    files = [upload(sdk, name, text) for name, text in DOCS.items()]
    store = sdk.vector_stores.create(name="kb")
    batch = sdk.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[f.id for f in files])
    assert batch.status == "completed", batch
    return store.id, {f.filename: f.id for f in files}


def test_a_response_searches_the_named_store_and_cites_the_file(sdk, cloud):
    store_id, files = _store(sdk)
    cloud.push(SEARCH, Reply([ANSWER]))
    response = sdk.responses.create(model="cloud/x", input="Which volcano is active?", tools=[
        {"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 2}])

    search, message = response.output
    assert (search.type, search.status, search.queries, search.results) == (
        "file_search_call", "completed", ["active volcano in Europe"], None)
    assert search.id.startswith("fs_")
    assert response.output_text == ANSWER
    [citation] = message.content[0].annotations
    assert citation.model_dump() == {"type": "file_citation", "file_id": files["volcanoes.md"],
                                     "filename": "volcanoes.md", "index": ANSWER.index("【")}
    assert [t["function"]["name"] for t in cloud.requests[0]["tools"]] == ["file_search"]
    sent = cloud.requests[1]["messages"][-1]
    assert sent["role"] == "tool" and "Etna" in sent["content"]
    assert sent["content"].count("†") <= 2  # max_num_results
    [tool] = response.tools
    assert (tool.type, tool.vector_store_ids, tool.max_num_results) == ("file_search", [store_id], 2)
    assert sdk.responses.retrieve(response.id).model_dump() == response.model_dump()


def test_a_streamed_search_reports_its_progress_and_results_when_included(sdk, cloud):
    store_id, files = _store(sdk)
    cloud.push(SEARCH, Reply([ANSWER]))
    with sdk.responses.stream(model="cloud/x", input="Which volcano is active?", include=["file_search_call.results"],
                              tools=[{"type": "file_search", "vector_store_ids": [store_id]}]) as stream:
        events = list(stream)
        final = stream.get_final_response()

    types = [e.type for e in events]
    assert types[:6] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.file_search_call.in_progress", "response.file_search_call.searching",
                         "response.file_search_call.completed"]
    assert "response.output_text.annotation.added" in types
    assert types.index("response.output_text.annotation.added") < types.index("response.output_text.done")
    search = final.output[0]
    assert search.queries == ["active volcano in Europe"]
    assert search.results[0].file_id == files["volcanoes.md"] and search.results[0].filename == "volcanoes.md"
    assert "Etna" in search.results[0].text and 0 < search.results[0].score <= 1
    assert final.output[1].content[0].annotations[0].filename == "volcanoes.md"
    stored = sdk.responses.retrieve(final.id)
    assert stored.output[0].model_dump() == search.model_dump()
    assert stored.output[1].content[0].annotations == final.output[1].content[0].annotations


def test_filters_narrow_the_search_to_matching_files(sdk, cloud):
    store_id, files = _store(sdk)
    sdk.vector_stores.files.update(file_id=files["volcanoes.md"], vector_store_id=store_id,
                                   attributes={"topic": "geology"})
    cloud.push(SEARCH, Reply(["none found"]))
    response = sdk.responses.create(model="cloud/x", input="volcano?", include=["file_search_call.results"], tools=[
        {"type": "file_search", "vector_store_ids": [store_id],
         "filters": {"type": "eq", "key": "topic", "value": "cooking"}}])
    assert response.output[0].results == []
    assert "Etna" not in cloud.requests[1]["messages"][-1]["content"]


def test_another_users_or_an_unknown_store_is_404_and_bad_options_are_400(sdk, cloud, live_entities, bob):
    store_id, _ = _store(sdk)
    with sdk_for(live_entities, bob) as other:
        with pytest.raises(openai.NotFoundError) as caught:
            other.responses.create(model="cloud/x", input="x", tools=[{"type": "file_search",
                                                                        "vector_store_ids": [store_id]}])
    assert caught.value.body["param"] == "tools[0].vector_store_ids[0]"
    for tool, param in [({"type": "file_search"}, "tools[0].vector_store_ids"),
                        ({"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 0},
                         "tools[0].max_num_results"),
                        ({"type": "file_search", "vector_store_ids": [store_id], "filters": {"type": "eq"}},
                         "tools[0].filters")]:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.responses.create(model="cloud/x", input="x", tools=[tool])
        assert caught.value.body["param"].startswith(param), caught.value.body
