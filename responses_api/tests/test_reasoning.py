"""A thinking model's reasoning as Responses `reasoning` items, through the official SDK.

The fake OpenAI server streams `delta.reasoning_content` before the reply, as vLLM and
llama.cpp do; the reasoning never lands in the message's text.
"""

from __future__ import annotations

import pytest

from responses_api.models import Response
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import cloud, forget_event_log  # noqa: F401 - cloud is a fixture

THOUGHTS = ["The user asks ", "for 2 + 2, ", "which is 4."]
ANSWER = ["It is ", "4."]
STREAM_ORDER = [
    "response.created", "response.in_progress",
    "response.output_item.added", "response.content_part.added",
    *["response.reasoning_text.delta"] * len(THOUGHTS),
    "response.reasoning_text.done", "response.content_part.done", "response.output_item.done",
    "response.output_item.added", "response.content_part.added",
    *["response.output_text.delta"] * len(ANSWER),
    "response.output_text.done", "response.content_part.done", "response.output_item.done",
    "response.completed",
]
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_it_answers_with_a_reasoning_item_then_the_message(sdk, cloud):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS, usage=(9, 8, 3)))

    response = sdk.responses.create(model="cloud/x", input="What is 2 + 2?", reasoning={"effort": "low"})

    reasoning, message = response.output
    assert reasoning.model_dump() == {
        "id": "rs_" + message.id.removeprefix("msg_"), "type": "reasoning", "summary": [],
        "content": [{"type": "reasoning_text", "text": "".join(THOUGHTS)}], "encrypted_content": None,
        "status": "completed"}
    assert (message.type, response.output_text) == ("message", "It is 4.")
    assert response.reasoning.effort == "low"
    assert (response.usage.output_tokens, response.usage.output_tokens_details.reasoning_tokens) == (8, 3)
    assert "reasoning_effort" not in cloud.requests[0]  # recorded and shown, not sent (docs/responses.md)
    assert sdk.responses.retrieve(response.id).model_dump() == response.model_dump()


def test_it_streams_reasoning_text_deltas_that_add_up_to_the_item(sdk, cloud):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS))

    with sdk.responses.stream(model="cloud/x", input="What is 2 + 2?") as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [e.type for e in events] == STREAM_ORDER
    assert [e.sequence_number for e in events] == list(range(len(events)))
    reasoning_id = final.output[0].id
    assert [e.delta for e in events if e.type == "response.reasoning_text.delta"] == THOUGHTS
    assert {e.item_id for e in events if e.type.startswith("response.reasoning_text.")} == {reasoning_id}
    [done] = [e for e in events if e.type == "response.reasoning_text.done"]
    assert done.text == "".join(THOUGHTS) == final.output[0].content[0].text
    assert final.output_text == "It is 4."
    stored = sdk.responses.retrieve(final.id)
    assert (stored.output[0], stored.output_text) == (final.output[0], final.output_text)


def test_a_stream_replayed_from_stored_state_brings_the_reasoning_again(sdk, cloud, live_entities):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS))
    with sdk.responses.stream(model="cloud/x", input="What is 2 + 2?") as stream:
        live = stream.get_final_response()
    forget_event_log(live_entities, Response.objects.get(pk=live.id).run_id)

    replayed = list(sdk.responses.retrieve(live.id, stream=True))

    kinds = [e.type for e in replayed]
    assert kinds[kinds.index("response.output_item.added"):kinds.index("response.output_item.done") + 1] == [
        "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta",
        "response.reasoning_text.done", "response.content_part.done", "response.output_item.done"]
    final = replayed[-1].response
    assert (final.output[0], final.output_text) == (live.output[0], live.output_text)


def test_the_reasoning_before_a_function_call_is_an_item_before_it(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Paris"}')], reasoning=["I need the weather in Paris."]))

    response = sdk.responses.create(model="cloud/x", input="Weather in Paris?", tools=[WEATHER_TOOL])

    reasoning, call = response.output
    assert (reasoning.type, reasoning.content[0].text) == ("reasoning", "I need the weather in Paris.")
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city": "Paris"}')
    assert sdk.responses.retrieve(response.id).output == response.output


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_the_reasoning_never_reaches_the_model_again_in_a_conversation(sdk, cloud, field):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS, reasoning_field=field))
    first = sdk.responses.create(model="cloud/x", input="What is 2 + 2?")
    cloud.push(Reply(["Yes."]))

    second = sdk.responses.create(model="cloud/x", input="Sure?", previous_response_id=first.id)

    assert [item.type for item in second.output] == ["message"]
    assert cloud.requests[1]["messages"][-2:] == [{"role": "assistant", "content": "It is 4."},
                                                  {"role": "user", "content": "Sure?"}]


def test_a_reply_cut_short_while_reasoning_keeps_the_reasoning(sdk, cloud):
    cloud.push(Reply([], reasoning=["Let me think", " about this"], finish="length"))

    with sdk.responses.stream(model="cloud/x", input="Hard question", max_output_tokens=16) as stream:
        events = list(stream)
    final = events[-1].response

    assert (final.status, final.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert [(item.type, item.status) for item in final.output] == [("reasoning", "completed"), ("message", "incomplete")]
    assert final.output[0].content[0].text == "Let me think about this"
    assert final.output_text == ""
    stored = sdk.responses.retrieve(final.id)
    assert (stored.output[0], [item.type for item in stored.output]) == (final.output[0], ["reasoning", "message"])


def test_a_conversation_lists_the_reasoning_item_between_the_question_and_the_answer(sdk, cloud):
    conversation = sdk.conversations.create()
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS))

    response = sdk.responses.create(model="cloud/x", input="What is 2 + 2?", conversation=conversation.id)

    items = sdk.conversations.items.list(conversation.id, order="asc").data
    assert [item.type for item in items] == ["message", "reasoning", "message"]
    assert items[1].id == response.output[0].id
    assert items[1].content[0].text == "".join(THOUGHTS)


def test_a_thinking_model_behind_ollama_gives_the_same_items(sdk, fake_ollama):
    from django.test import override_settings

    from inference.factory import InferenceFactory

    fake_ollama.push(Reply(ANSWER, reasoning=THOUGHTS))
    with override_settings(OLLAMA_HOST=fake_ollama.url, LOCAL_OPENAI_BASE_URL=""):
        InferenceFactory.reset()
        try:
            response = sdk.responses.create(model="local/qwen3", input="What is 2 + 2?")
        finally:
            InferenceFactory.reset()

    assert [(item.type, item.status) for item in response.output] == [("reasoning", "completed"),
                                                                      ("message", "completed")]
    assert (response.output[0].content[0].text, response.output_text) == ("".join(THOUGHTS), "It is 4.")


def test_a_response_cancelled_while_reasoning_ends_its_reasoning_item_incomplete(sdk, cloud):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS, delay=0.4))
    started = sdk.responses.create(model="cloud/x", input="What is 2 + 2?", background=True)

    events = []
    for event in sdk.responses.retrieve(started.id, stream=True):
        events.append(event)
        if event.type == "response.reasoning_text.delta" and len(events) < 10:
            sdk.responses.cancel(started.id)

    kinds = [e.type for e in events]
    assert kinds[-1] == "response.cancelled"
    [done] = [e for e in events if e.type == "response.output_item.done"]
    assert (done.item.type, done.item.status) == ("reasoning", "incomplete")
    assert "response.output_text.delta" not in kinds
    assert cloud.wait_for_disconnect(timeout=3), "the model server was left generating"
