"""Tools on the Responses API: client-side functions (function_call items answered with
function_call_output), Entities' registered functions and the code interpreter."""

from __future__ import annotations

import json

import openai
import pytest

from conversations.models import Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.requirements import require_tool
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture

WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
ARGUMENTS = '{"city": "Paris"}'
ARGUMENT_DELTAS = -(-len(ARGUMENTS) // 5)  # the fake streams arguments in 5-character fragments
CALL_ORDER = [
    "response.created", "response.in_progress", "response.output_item.added",
    *["response.function_call_arguments.delta"] * ARGUMENT_DELTAS,
    "response.function_call_arguments.done", "response.output_item.done", "response.completed",
]


def test_a_client_side_function_call_ends_the_response_and_its_output_continues_the_chain(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", ARGUMENTS)]), Reply(FAKE_CHUNKS))
    first = sdk.responses.create(model="cloud/x", input="Weather in Paris?", tools=[WEATHER])

    assert first.status == "completed"
    [call] = first.output
    assert (call.type, call.name, call.arguments, call.status) == ("function_call", "get_weather", ARGUMENTS,
                                                                    "completed")
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert first.tools[0].name == "get_weather"

    second = sdk.responses.create(model="cloud/x", previous_response_id=first.id, tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "22 °C, sunny"}])
    assert (second.status, second.output_text) == ("completed", FAKE_TEXT)
    assert second.id != first.id
    sent = cloud.requests[1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": ARGUMENTS}
    assert sent[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "22 °C, sunny"}
    # The first response still reads as it ended: with the call, completed.
    again = sdk.responses.retrieve(first.id)
    assert (again.status, [i.type for i in again.output]) == ("completed", ["function_call"])
    inputs = sdk.responses.input_items.list(second.id).data
    assert [(i.type, i.call_id, i.output) for i in inputs] == [("function_call_output", call.call_id, "22 °C, sunny")]


def test_a_streamed_function_call_sends_argument_deltas_that_add_up(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", ARGUMENTS)]), Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="Weather in Paris?", tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()

    assert [e.type for e in events] == CALL_ORDER
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == ARGUMENTS
    [call] = final.output
    assert (call.name, call.arguments) == ("get_weather", ARGUMENTS)

    with sdk.responses.stream(model="cloud/x", previous_response_id=final.id, input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]) as stream:
        text = stream.get_final_response().output_text
    assert text == FAKE_TEXT


def test_a_pending_call_must_be_answered_before_anything_else(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", ARGUMENTS)]))
    first = sdk.responses.create(model="cloud/x", input="Weather?", tools=[WEATHER])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="cloud/x", previous_response_id=first.id, input="never mind")
    assert "No tool output found for function call" in caught.value.message
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model="cloud/x", input=[
            {"type": "function_call_output", "call_id": "call_unknown", "output": "x"}])


def test_a_registered_function_runs_on_the_server_and_shows_as_an_mcp_call(sdk, cloud):
    tool = {"type": "function", "name": "get_flight_times", "server_side": True, "parameters": {"type": "object", "properties": {
        "departure": {"type": "string"}, "arrival": {"type": "string"}}}}
    cloud.push(ToolCalls([("get_flight_times", '{"departure": "JFK", "arrival": "LAX"}')]), Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="How long is JFK to LAX?", tools=[tool]) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()

    call, message = final.output
    assert (call.type, call.name, call.server_label, call.status) == ("mcp_call", "get_flight_times", "entities",
                                                                      "completed")
    assert json.loads(call.output)["duration"] == "5h 30m"
    assert message.type == "message" and final.output_text == FAKE_TEXT
    assert "response.mcp_call.completed" in types
    assert [i.type for i in sdk.responses.retrieve(final.id).output] == ["mcp_call", "message"]
    assert Run.objects.get(responses__id=final.id).status == "completed"


def test_the_code_interpreter_runs_code_and_reports_its_logs(sdk, cloud):
    require_tool("bwrap", "the code interpreter runs Python inside bubblewrap")
    cloud.push(ToolCalls([("code_interpreter", json.dumps({"code": "print(6 * 7)"}))]), Reply(["42"]))
    with sdk.responses.stream(model="cloud/x", input="6*7?", tools=[{"type": "code_interpreter",
                                                                    "container": {"type": "auto"}}]) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()

    call, _message = final.output
    assert (call.type, call.code, call.status) == ("code_interpreter_call", "print(6 * 7)", "completed")
    assert call.outputs[0].logs.strip() == "42"
    assert types[2:8] == ["response.output_item.added", "response.code_interpreter_call.in_progress",
                          "response.code_interpreter_call_code.delta", "response.code_interpreter_call_code.done",
                          "response.code_interpreter_call.interpreting", "response.code_interpreter_call.completed"]
    stored = sdk.responses.retrieve(final.id).output[0]
    assert (stored.code, stored.outputs[0].logs.strip()) == ("print(6 * 7)", "42")


def test_the_function_calling_guide_works_sending_the_whole_history_back(sdk, cloud):
    """OpenAI's guide: input += response.output, append the function_call_output, create again."""
    cloud.push(ToolCalls([("get_weather", ARGUMENTS)]), Reply(FAKE_CHUNKS))
    history = [{"role": "user", "content": "Weather in Paris?"}]
    first = sdk.responses.create(model="cloud/x", input=history, tools=[WEATHER])
    history += [item.model_dump(exclude_none=True) for item in first.output]
    [call] = [i for i in first.output if i.type == "function_call"]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "22 °C"})

    second = sdk.responses.create(model="cloud/x", input=history, tools=[WEATHER])
    assert second.output_text == FAKE_TEXT
    sent = cloud.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[-1]["content"] == "22 °C"


def test_a_function_named_like_a_server_function_is_the_clients_without_server_side(sdk, cloud):
    tool = {"type": "function", "name": "get_flight_times", "parameters": {"type": "object", "properties": {}}}
    cloud.push(ToolCalls([("get_flight_times", '{"departure": "JFK", "arrival": "LAX"}')]))
    response = sdk.responses.create(model="cloud/x", input="JFK to LAX?", tools=[tool])
    assert [i.type for i in response.output] == ["function_call"]
    cloud.push(ToolCalls([("get_flight_times", "{}")]))
    with sdk.responses.stream(model="cloud/x", input="JFK to LAX?", tools=[tool]) as stream:
        types = {e.type for e in stream}
    assert "response.function_call_arguments.done" in types and "response.mcp_call.completed" not in types
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="cloud/x", input="x", tools=[{"type": "function", "name": "nope",
                                                                  "server_side": True}])
    assert caught.value.body["param"] == "tools[0].server_side"


FLIGHTS = {"type": "function", "name": "get_flight_times", "server_side": True,
           "parameters": {"type": "object", "properties": {"departure": {"type": "string"},
                                                           "arrival": {"type": "string"}}}}
FLIGHT_CALL = ("get_flight_times", '{"departure": "JFK", "arrival": "LAX"}')


def _offered(request: dict) -> list[str]:
    return sorted(t["function"]["name"] for t in request.get("tools") or [])


def test_max_tool_calls_leaves_further_server_calls_unrun_and_the_model_answers_without_them(sdk, cloud):
    cloud.push(ToolCalls([FLIGHT_CALL, FLIGHT_CALL]), Reply(FAKE_CHUNKS))
    response = sdk.responses.create(model="cloud/x", input="JFK to LAX, twice?", tools=[FLIGHTS, WEATHER],
                                    max_tool_calls=1)

    ran, held, message = response.output
    assert (ran.type, ran.status, ran.error, json.loads(ran.output)["duration"]) == (
        "mcp_call", "completed", None, "5h 30m")
    assert (held.type, held.status, held.error.message) == ("mcp_call", "failed", "max_tool_calls reached")
    assert "max_tool_calls" in held.output
    assert (response.status, response.output_text, response.max_tool_calls) == ("completed", FAKE_TEXT, 1)
    # Spent: the next turn offers the client's function only, so the model answers.
    assert [_offered(r) for r in cloud.requests] == [["get_flight_times", "get_weather"], ["get_weather"]]
    assert "max_tool_calls" in cloud.requests[1]["messages"][-1]["content"]


def test_max_tool_calls_counts_across_rounds_and_streams_the_held_call_too(sdk, cloud):
    cloud.push(ToolCalls([FLIGHT_CALL]), ToolCalls([FLIGHT_CALL]), Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="JFK to LAX?", tools=[FLIGHTS], max_tool_calls=1) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()

    assert [i.type for i in final.output] == ["mcp_call", "mcp_call", "message"]
    assert types.count("response.mcp_call.completed") == 2 and types[-1] == "response.completed"
    assert [_offered(r) for r in cloud.requests] == [["get_flight_times"], [], []]
    stored = sdk.responses.retrieve(final.id)
    assert [(i.type, i.status) for i in stored.output] == [("mcp_call", "completed"), ("mcp_call", "failed"),
                                                           ("message", "completed")]
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model="cloud/x", input="x", max_tool_calls=0)
