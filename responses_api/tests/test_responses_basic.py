"""The Responses API through the official openai SDK against a live Entities server.

Replies come from the fake OpenAI server (`cloud/x`) or the built-in demo backend
(`demo/echo`); what the fake received is checked where history matters.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.live import sdk_for
from testsupport.scenarios import Reply
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture

TEXT_ORDER = [
    "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
    *["response.output_text.delta"] * len(FAKE_CHUNKS),
    "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
]


def test_it_answers_a_plain_response_with_the_model_reply(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS))
    response = sdk.responses.create(model="cloud/x", input="Say hello", instructions="Be brief.")

    assert (response.status, response.output_text, response.model) == ("completed", FAKE_TEXT, "cloud/x")
    assert response.id.startswith("resp_")
    [message] = response.output
    assert (message.type, message.role, message.status, message.content[0].type) == (
        "message", "assistant", "completed", "output_text")
    assert response.instructions == "Be brief."
    assert response.usage.output_tokens == len(FAKE_CHUNKS)
    [request] = cloud.requests
    assert request["messages"] == [{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "Say hello"}]
    again = sdk.responses.retrieve(response.id)
    assert again.model_dump() == response.model_dump()


def test_it_streams_the_exact_event_order_with_increasing_sequence_numbers(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="Say hello") as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [e.type for e in events] == TEXT_ORDER
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == FAKE_CHUNKS
    assert final.output_text == FAKE_TEXT and final.status == "completed"
    assert sdk.responses.retrieve(final.id).output_text == FAKE_TEXT


def test_it_works_over_the_demo_backend_too(sdk):
    response = sdk.responses.create(model="demo/echo", input="ping pong")
    assert response.status == "completed"
    assert response.output_text
    with sdk.responses.stream(model="demo/echo", input="ping pong") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == final.output_text


def test_the_response_carries_every_field_the_open_responses_schema_requires(sdk):
    """The Open Responses compliance suite failed every case on these five missing fields."""
    raw = sdk.responses.with_raw_response.create(
        model="demo/echo", input="Hi", safety_identifier="user-42", prompt_cache_key="k1", top_logprobs=2).http_response.json()
    streamed = [e for e in sdk.responses.create(model="demo/echo", input="Hi", stream=True)
                if e.type == "response.created"][0].response.model_dump()

    for body in (raw, streamed):
        assert {k: body[k] for k in ("presence_penalty", "frequency_penalty")} == {
            "presence_penalty": 0.0, "frequency_penalty": 0.0}
    assert (raw["top_logprobs"], raw["safety_identifier"], raw["prompt_cache_key"]) == (2, "user-42", "k1")
    assert (streamed["top_logprobs"], streamed["safety_identifier"], streamed["prompt_cache_key"]) == (0, None, None)


def test_it_lists_input_items_and_deletes_a_response(sdk, cloud, live_entities, alice):
    response = sdk.responses.create(model="cloud/x", input=[
        {"role": "user", "content": "First"}, {"role": "assistant", "content": "Noted"},
        {"role": "user", "content": [{"type": "input_text", "text": "Second"}]}])
    items = sdk.responses.input_items.list(response.id, order="asc")
    assert [(i.role, i.content[0].text) for i in items.data] == [
        ("user", "First"), ("assistant", "Noted"), ("user", "Second")]
    assert [i.content[0].type for i in items.data] == ["input_text", "output_text", "input_text"]

    deleted = httpx.delete(f"{live_entities.v1}/responses/{response.id}",
                           headers={"Authorization": f"Bearer {alice.api_key}"})
    assert deleted.json() == {"id": response.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)


def test_it_needs_no_openai_beta_header_and_rejects_bad_input_with_the_envelope(live_entities, alice):
    headers = {"Authorization": f"Bearer {alice.api_key}", "OpenAI-Beta": "responses=v1"}
    bad = httpx.post(f"{live_entities.v1}/responses", headers=headers, json={"model": "demo/echo", "inptu": "x"})
    assert bad.status_code == 400
    assert bad.json() == {"error": {"message": "Unknown parameter: 'inptu'.", "type": "invalid_request_error",
                                    "param": "inptu", "code": "unknown_parameter"}}
    missing = httpx.post(f"{live_entities.v1}/responses", headers=headers, json={"model": "demo/echo"})
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "input")


def test_it_hides_other_users_responses(sdk, live_entities, bob):
    response = sdk.responses.create(model="demo/echo", input="mine")
    with sdk_for(live_entities, bob) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(response.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.create(model="demo/echo", input="x", previous_response_id=response.id)


def test_it_throttles_responses_like_every_v1_endpoint(live_entities, alice):
    from django.conf import settings
    from django.core.cache import cache
    from django.test import override_settings

    from kernel.api.throttling import ApiKeyRateThrottle, UserRateThrottle

    cache.delete(UserRateThrottle.cache_format % {"scope": "user", "ident": alice.user.pk})
    for key in alice.user.api_keys.all():
        cache.delete(ApiKeyRateThrottle.cache_format % {"scope": "api_key", "ident": key.prefix})
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/min", "user": "1000/min"}}
    with override_settings(REST_FRAMEWORK=rates), sdk_for(live_entities, alice) as client:
        client.conversations.create()
        client.conversations.create()
        with pytest.raises(openai.RateLimitError) as refused:
            client.responses.create(model="demo/echo", input="x")
    assert (refused.value.status_code, refused.value.code) == (429, "rate_limit_exceeded")


def test_a_user_at_the_active_run_limit_gets_429(sdk, cloud):
    from django.test import override_settings

    from testsupport.scenarios import Hang

    cloud.push(Hang())
    with override_settings(ENTITIES_MAX_ACTIVE_RUNS_PER_USER=1):
        running = sdk.responses.create(model="cloud/x", input="wait", background=True)
        with pytest.raises(openai.RateLimitError):
            sdk.responses.create(model="cloud/x", input="another")
        sdk.responses.cancel(running.id)


def test_a_streamed_response_writes_one_row_more_than_an_assistants_run(live_entities, alice, cloud):
    """The Responses view adds its own row and nothing else: the engine's writes are the same."""
    from testsupport.db_counter import WriteCounter

    headers = {"Authorization": f"Bearer {alice.api_key}"}
    httpx.get(f"{live_entities.v1}/models", headers=headers)  # the key's first use writes its last_used_at
    cloud.push(Reply(FAKE_CHUNKS))
    with WriteCounter() as writes:
        body = httpx.post(f"{live_entities.v1}/responses", headers=headers,
                          json={"model": "cloud/x", "input": "hi", "stream": True}).text
    assert "response.completed" in body
    # (The run is inserted already claimed: no separate claim UPDATE, issue 19.)
    assert writes.count == 10, writes.report()
    assert writes.report() == ("INSERT conversations_message ×2, INSERT conversations_run ×1, "
                               "INSERT conversations_thread ×1, INSERT responses_api_response ×1, "
                               "UPDATE conversations_message ×1, UPDATE conversations_run ×1, "
                               "UPDATE conversations_thread ×3")


BAD_BODIES = [
    ({"model": "demo/echo", "input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "input[0].content[0].text"),
    ({"model": "demo/echo", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
    ({"model": "demo/echo", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": "demo/echo", "input": [{"type": "item_reference", "id": "msg_x"}]}, "input[0].type"),
    ({"model": "demo/echo", "input": "x", "temperature": 3}, "temperature"),
    ({"model": "demo/echo", "input": "x", "max_output_tokens": 2**40}, "max_output_tokens"),
    ({"model": "demo/echo", "input": "x", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ({"model": "demo/echo", "input": "x", "metadata": {"k" * 65: "v"}}, "metadata"),
    ({"model": "demo/echo", "input": "x", "background": True, "store": False}, "store"),
    ({"model": "demo/echo", "input": "x", "include": ["everything"]}, "include[0]"),
    ({"model": 7, "input": "x"}, "model"),
    ([1, 2], None),
]


@pytest.mark.parametrize(("body", "param"), BAD_BODIES)
def test_it_refuses_bad_bodies_in_the_envelope(live_entities, alice, body, param):
    answer = httpx.post(f"{live_entities.v1}/responses", json=body, headers={"Authorization": f"Bearer {alice.api_key}"})
    assert answer.status_code == 400, answer.text
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert answer.json()["error"]["param"] == param


def test_unknown_ids_are_404_in_the_envelope(sdk, live_entities, alice):
    headers = {"Authorization": f"Bearer {alice.api_key}"}
    for method, path, body in [
        ("POST", "/responses", {"model": "demo/echo", "input": "x", "conversation": "conv_nope"}),
        ("POST", "/responses", {"model": "demo/echo", "input": "x", "previous_response_id": "resp_nope"}),
        ("GET", "/responses/resp_nope", None), ("POST", "/responses/resp_nope/cancel", None),
        ("GET", "/responses/resp_nope/input_items", None), ("GET", "/conversations/thread_x", None),
        ("GET", "/conversations/conv_nope/items/msg_nope", None),
    ]:
        answer = httpx.request(method, f"{live_entities.v1}{path}", json=body, headers=headers)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    response = sdk.responses.create(model="demo/echo", input="x")
    bad = httpx.get(f"{live_entities.v1}/responses/{response.id}?stream=true&starting_after=abc", headers=headers)
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "starting_after")


def test_other_users_cannot_cancel_or_list_input_items(sdk, live_entities, bob, cloud):
    from testsupport.scenarios import Hang

    cloud.push(Hang())
    running = sdk.responses.create(model="cloud/x", input="wait", background=True)
    with sdk_for(live_entities, bob) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.cancel(running.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.input_items.list(running.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(running.id, stream=True)
    assert sdk.responses.cancel(running.id).status == "cancelled"
