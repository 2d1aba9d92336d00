"""A client's function is the client's, even when a server function has its name (issue 14, item 3).

Through the official SDK against a live server: an AutoGen-style agent declaring its own
`get_flight_times` gets `requires_action`, as from OpenAI; an assistant that chose the
server's function (`"server_side": true`, what the chat UI's editor sets) gets the
server's result without a round trip.
"""

from __future__ import annotations

import json

import openai
import pytest

from conversations.models import Action
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import cloud  # noqa: F401 - a fixture

# What AutoGen sends for a Python function `get_flight_times(origin: str, destination: str)`.
AUTOGEN_TOOL = {"type": "function", "function": {
    "name": "get_flight_times", "description": "Look up flight times (the agent's own implementation).",
    "parameters": {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
                   "required": ["origin", "destination"]}}}
SERVER_TOOL = {"type": "function", "server_side": True, "function": {
    "name": "get_flight_times", "parameters": {"type": "object", "properties": {
        "departure": {"type": "string"}, "arrival": {"type": "string"}}}}}


def test_a_client_function_that_shares_a_server_functions_name_is_the_clients(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/x", tools=[AUTOGEN_TOOL])
    assert "server_side" not in assistant.tools[0].model_dump()
    cloud.push(ToolCalls([("get_flight_times", '{"origin": "JFK", "destination": "LAX"}')]), Reply(["Six", " hours."]))

    run = sdk.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=50,
                                               thread={"messages": [{"role": "user", "content": "JFK to LAX?"}]})

    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_flight_times"
    assert json.loads(call.function.arguments) == {"origin": "JFK", "destination": "LAX"}
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=run.thread_id, poll_interval_ms=50,
        tool_outputs=[{"tool_call_id": call.id, "output": '{"hours": 6}'}])
    assert done.status == "completed"
    # The model saw the client's answer, not the server's table.
    tool_message = [m for m in cloud.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_message] == ['{"hours": 6}']


def test_an_assistant_that_chose_the_server_function_gets_the_servers_result(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/x", tools=[SERVER_TOOL])
    assert assistant.tools[0].model_dump().get("server_side") is True  # stored and shown back
    cloud.push(ToolCalls([("get_flight_times", '{"departure": "JFK", "arrival": "LAX"}')]), Reply(["5h", " 30m."]))

    run = sdk.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=50,
                                               thread={"messages": [{"role": "user", "content": "JFK to LAX?"}]})

    assert run.status == "completed"
    action = Action.objects.get(run_id=run.id)
    assert action.status == "completed" and json.loads(action.output)["duration"] == "5h 30m"


def test_a_run_can_choose_per_run_with_the_marker_in_its_tools(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/x", tools=[AUTOGEN_TOOL])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "JFK to LAX?"}])
    cloud.push(ToolCalls([("get_flight_times", '{"departure": "JFK", "arrival": "LAX"}')]), Reply(["ok"]))
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
                                                tools=[SERVER_TOOL])
    assert run.status == "completed"


def test_the_marker_needs_a_server_function_of_that_name(sdk):
    tool = {"type": "function", "server_side": True, "function": {"name": "my_own_lookup"}}
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.beta.assistants.create(model="cloud/x", tools=[tool])
    assert refused.value.body["param"] == "tools[0].server_side"
    with pytest.raises(openai.BadRequestError):
        sdk.beta.assistants.create(model="cloud/x", tools=[{**SERVER_TOOL, "server_side": "yes"}])
