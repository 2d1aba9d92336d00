"""Request options reach the model server in its own terms, and come back on the response."""

from __future__ import annotations

import httpx
import pydantic

from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply
from testsupport.sse import cloud  # noqa: F401 - a fixture

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


class City(pydantic.BaseModel):
    name: str
    population: int


def test_structured_output_is_passed_to_the_backend_and_parsed_by_the_sdk(sdk, cloud):
    cloud.push(Reply(['{"name": "Paris", ', '"population": 2100000}']))
    parsed = sdk.responses.parse(model="cloud/x", input="Biggest city in France?", text_format=City)

    assert parsed.output_parsed == City(name="Paris", population=2100000)
    sent = cloud.requests[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "City" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["name", "population"]
    assert parsed.text.format.type == "json_schema"


def test_json_object_and_sampling_options_reach_the_model_and_come_back(sdk, cloud):
    cloud.push(Reply(['{"ok": true}']))
    response = sdk.responses.create(
        model="cloud/x", input="JSON please", text={"format": {"type": "json_object"}}, temperature=0.2, top_p=0.9,
        max_output_tokens=64, metadata={"k": "v"}, tools=[WEATHER], tool_choice="none", parallel_tool_calls=False)

    sent = cloud.requests[0]
    assert (sent["response_format"], sent["temperature"], sent["top_p"], sent["max_tokens"]) == (
        {"type": "json_object"}, 0.2, 0.9, 64)
    assert (sent["tool_choice"], sent["parallel_tool_calls"]) == ("none", False)
    assert (response.temperature, response.top_p, response.max_output_tokens, response.metadata) == (
        0.2, 0.9, 64, {"k": "v"})
    assert (response.text.format.type, response.tool_choice, response.parallel_tool_calls) == (
        "json_object", "none", False)


def test_a_named_function_choice_is_forced(sdk, cloud):
    cloud.push(Reply(["fine"]))
    response = sdk.responses.create(model="cloud/x", input="x", tools=[WEATHER],
                                    tool_choice={"type": "function", "name": "get_weather"})
    assert cloud.requests[0]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert response.tool_choice.name == "get_weather"


def test_a_reply_cut_by_max_output_tokens_is_incomplete(sdk, cloud):
    cloud.push(Reply(["one ", "two"], finish="length"))
    response = sdk.responses.create(model="cloud/x", input="count", max_output_tokens=16)
    assert (response.status, response.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert response.output[0].status == "incomplete" and response.output_text == "one two"


def test_a_failing_backend_gives_a_failed_response_with_its_reason(sdk, cloud):
    from testsupport.scenarios import HttpError

    cloud.push(HttpError(500))
    with sdk.responses.stream(model="cloud/x", input="x") as stream:
        events = list(stream)
    last = events[-1]
    assert [e.type for e in events] == ["response.created", "response.in_progress", "response.failed"]
    assert (last.response.status, last.response.error.code) == ("failed", "server_error")
    assert last.response.error.message
    stored = sdk.responses.retrieve(last.response.id)
    assert (stored.status, stored.error.message) == ("failed", last.response.error.message)


def test_input_tokens_are_estimated(live_entities, alice):
    body = {"model": "demo/echo", "input": "x" * 40, "instructions": "y" * 40}
    answer = httpx.post(f"{live_entities.v1}/responses/input_tokens", json=body,
                        headers={"Authorization": f"Bearer {alice.api_key}"})
    assert answer.json() == {"object": "response.input_tokens", "input_tokens": 20}


def test_an_ollama_backend_gets_the_json_schema_as_its_format(sdk, fake_ollama):
    from django.test import override_settings

    from inference.factory import InferenceFactory

    fake_ollama.push(Reply(['{"name": "Lyon", "population": 520000}']))
    with override_settings(OLLAMA_HOST=fake_ollama.url, LOCAL_OPENAI_BASE_URL=""):
        InferenceFactory.reset()
        try:
            parsed = sdk.responses.parse(model="local/llama3.1", input="A French city", text_format=City)
        finally:
            InferenceFactory.reset()
    assert parsed.output_parsed == City(name="Lyon", population=520000)
    sent = fake_ollama.requests[0]
    assert sent["format"]["required"] == ["name", "population"]
