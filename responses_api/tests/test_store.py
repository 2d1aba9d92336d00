"""``store: false``: the response answers in full, then nothing of it is kept or found."""

from __future__ import annotations

import time

import openai
import pytest

from conversations.models import Message, Run, Thread
from responses_api.models import Response
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture


def _said(request: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request["messages"]]


def _gone(response_id: str) -> bool:
    return not Response.objects.filter(pk=response_id).exists()


def _assert_not_found(sdk, response_id: str) -> None:
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response_id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.input_items.list(response_id)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.responses.create(model="cloud/x", input="and then?", previous_response_id=response_id)
    assert caught.value.body["param"] == "previous_response_id"


def test_a_response_not_stored_answers_in_full_then_is_not_found_and_leaves_nothing(sdk, cloud):
    threads, runs, messages = Thread.objects.count(), Run.objects.count(), Message.objects.count()
    cloud.push(Reply(FAKE_CHUNKS))
    response = sdk.responses.create(model="cloud/x", input="Say hello", store=False)

    assert (response.status, response.output_text, response.store) == ("completed", FAKE_TEXT, False)
    assert response.usage.total_tokens > 0
    _assert_not_found(sdk, response.id)
    assert (_gone(response.id), Thread.objects.count(), Run.objects.count(), Message.objects.count()) == (
        True, threads, runs, messages)


def test_a_streamed_response_not_stored_streams_in_full_then_is_gone(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="Say hello", store=False) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()

    assert (deltas, final.output_text, final.status, final.store) == (FAKE_TEXT, FAKE_TEXT, "completed", False)
    assert [i.type for i in final.output] == ["message"]
    assert _gone(final.id)
    _assert_not_found(sdk, final.id)


def test_a_response_not_stored_keeps_nothing_in_its_conversation_or_chain(sdk, cloud):
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "one"}])
    cloud.push(Reply(["two"]), Reply(["off the record"]), Reply(["four"]))
    kept = sdk.responses.create(model="cloud/x", conversation=conversation.id, input="again")
    aside = sdk.responses.create(model="cloud/x", conversation=conversation.id, input="secret", store=False)
    assert aside.output_text == "off the record" and aside.conversation.id == conversation.id

    items = sdk.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [("user", "one"), ("user", "again"), ("assistant", "two")]
    sdk.responses.create(model="cloud/x", conversation=conversation.id, input="three")
    assert _said(cloud.requests[2]) == [("user", "one"), ("user", "again"), ("assistant", "two"), ("user", "three")]
    # A stored response stays usable, and the aside on its chain left it as it was.
    assert sdk.responses.retrieve(kept.id).output_text == "two"


def test_an_unstored_follow_up_leaves_the_stored_chain_untouched(sdk, cloud):
    cloud.push(Reply(["A1"]), Reply(["aside"]), Reply(["A2"]))
    first = sdk.responses.create(model="cloud/x", input="Q1")
    aside = sdk.responses.create(model="cloud/x", input="Qx", previous_response_id=first.id, store=False)
    assert (aside.output_text, aside.previous_response_id) == ("aside", first.id)
    sdk.responses.create(model="cloud/x", input="Q2", previous_response_id=first.id)
    assert _said(cloud.requests[2]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]


def test_an_unstored_function_call_is_answered_by_sending_the_history_back(sdk, cloud):
    weather = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    cloud.push(ToolCalls([("get_weather", "{}")]), Reply(FAKE_CHUNKS))
    history = [{"role": "user", "content": "Weather?"}]
    first = sdk.responses.create(model="cloud/x", input=history, tools=[weather], store=False)
    [call] = first.output
    history += [call.model_dump(exclude_none=True),
                {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]

    second = sdk.responses.create(model="cloud/x", input=history, tools=[weather], store=False)
    assert second.output_text == FAKE_TEXT
    assert _gone(first.id) and _gone(second.id)
    assert not Run.objects.filter(actions__pk=call.call_id).exists()


def test_a_client_that_leaves_an_unstored_stream_early_leaves_nothing_behind(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS, delay=0.2))
    with sdk.responses.stream(model="cloud/x", input="Say hello slowly", store=False) as stream:
        response_id = next(e for e in stream if e.type == "response.created").response.id
    deadline = time.monotonic() + 15
    while not _gone(response_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(response_id)
