"""Tool calls: client-side functions pause the run for the client, server-side ones run
at once; arguments arrive in fragments; the loop is bounded; bad input never crashes."""

from __future__ import annotations

import json
import threading

import openai
import pytest
from django.test import override_settings

from conversations.models import Action
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, ollama, wait_for, …
from inference.registry import register_function
from testsupport.scenarios import Reply, ToolCalls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADD_TOOL = {"type": "function", "server_side": True, "function": {
    "name": "engine_test_add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}
gate = threading.Event()
calls: list[dict] = []


@register_function(name="engine_test_add", parameters=ADD_TOOL["function"]["parameters"])
def engine_test_add(a: int, b: int) -> int:
    calls.append({"a": a, "b": b})
    return a + b


@register_function(name="engine_test_gated", parameters={"type": "object", "properties": {}})
def engine_test_gated() -> dict:
    gate.wait(5)
    return {"opened": True}


@pytest.fixture(autouse=True)
def fresh_tools():
    calls.clear()
    gate.clear()
    yield
    gate.set()


def _start(sdk, *, tools, model="cloud/fake-model", text="What is the weather in Oslo?", **options):
    assistant = sdk.beta.assistants.create(model=model, tools=tools)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20,
                                                **options)
    return thread, run


def test_it_asks_the_client_for_a_function_output_and_continues(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}')], fragment_size=3, usage=(10, 4)),
               Reply(["It is", " 12°C."], usage=(20, 2)))

    thread, run = _start(sdk, tools=[WEATHER_TOOL])

    assert run.status == "requires_action"
    assert run.required_action.type == "submit_tool_outputs"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Oslo"}')
    assert run.usage.total_tokens == 14  # filled while the run waits, as OpenAI does
    (waiting_step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert (waiting_step.type, waiting_step.status) == ("tool_calls", "in_progress")
    assert waiting_step.step_details.tool_calls[0].function.output is None

    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "12°C, clear"}],
        poll_interval_ms=20)

    assert done.status == "completed"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.total_tokens) == (30, 6, 36)
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    tool_call = steps[0].step_details.tool_calls[0]
    assert (tool_call.id, tool_call.function.name, tool_call.function.arguments, tool_call.function.output) == (
        call.id, "get_weather", '{"city": "Oslo"}', "12°C, clear")
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert [text_of(m) for m in reply] == ["It is 12°C."]
    # The model's second turn sees its call and the client's result, in the chat-completions shape.
    assert cloud.requests[1]["messages"][-2:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "12°C, clear"},
    ]
    assert cloud.requests[0]["tools"] == [WEATHER_TOOL]


def test_it_pauses_for_parallel_calls_and_takes_their_outputs_together(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}'), ("get_weather", '{"city": "Lima"}')]),
               Reply(["Both done."]))

    thread, run = _start(sdk, tools=[WEATHER_TOOL])

    assert run.status == "requires_action"
    first, second = run.required_action.submit_tool_outputs.tool_calls
    assert [json.loads(c.function.arguments)["city"] for c in (first, second)] == ["Oslo", "Lima"]
    assert first.id != second.id
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, poll_interval_ms=20,
        tool_outputs=[{"tool_call_id": second.id, "output": "25°C"}, {"tool_call_id": first.id, "output": "3°C"}])

    assert done.status == "completed"
    assert [(m["role"], m.get("tool_call_id"), m["content"]) for m in cloud.requests[1]["messages"][-2:]] == [
        ("tool", first.id, "3°C"), ("tool", second.id, "25°C")]
    assert cloud.requests[0]["parallel_tool_calls"] is True
    (step,) = [s for s in sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data if s.type == "tool_calls"]
    assert [c.function.output for c in step.step_details.tool_calls] == ["3°C", "25°C"]


def test_it_runs_a_registered_function_on_the_server_and_calls_the_model_again(sdk, cloud):
    cloud.push(ToolCalls([("engine_test_add", '{"a": 2, "b": 3}')], fragment_size=4), Reply(["The sum is 5."]))

    thread, run = _start(sdk, tools=[ADD_TOOL], text="What is 2 + 3?")

    assert run.status == "completed"
    assert calls == [{"a": 2, "b": 3}]
    (action,) = Action.objects.filter(run_id=run.id)
    assert (action.status, action.output, action.client_side, action.error) == ("completed", "5", False, None)
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    assert steps[0].step_details.tool_calls[0].function.output == "5"
    assert cloud.requests[1]["messages"][-1] == {"role": "tool", "tool_call_id": action.id, "content": "5"}
    assert len(cloud.requests) == 2


def test_it_keeps_a_server_side_action_pending_while_its_function_runs(sdk, cloud):
    cloud.push(ToolCalls([("engine_test_gated", "{}")]), Reply(["Opened."]))
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{**function_tool("engine_test_gated"), "server_side": True}])
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Open it."}])
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    pending = wait_until(lambda: Action.objects.filter(run_id=run.id).first(), what="the action recorded")
    assert pending.status == "pending"
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert (step.status, step.step_details.tool_calls[0].function.output) == ("in_progress", None)
    gate.set()

    done = wait_for(sdk, run, TERMINAL)
    assert done.status == "completed"
    assert Action.objects.get(pk=pending.pk).status == "completed"
    assert json.loads(Action.objects.get(pk=pending.pk).output) == {"opened": True}


def test_it_runs_server_calls_and_asks_for_client_calls_of_the_same_turn(sdk, cloud):
    cloud.push(ToolCalls([("engine_test_add", '{"a": 1, "b": 1}'), ("get_weather", '{"city": "Rome"}')]),
               Reply(["2, and sunny."]))

    thread, run = _start(sdk, tools=[ADD_TOOL, WEATHER_TOOL])

    assert run.status == "requires_action"
    (client_call,) = run.required_action.submit_tool_outputs.tool_calls
    assert client_call.function.name == "get_weather"
    assert calls == [{"a": 1, "b": 1}]
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": client_call.id, "output": "sunny"}],
        poll_interval_ms=20)
    assert done.status == "completed"
    assert [m["content"] for m in cloud.requests[1]["messages"] if m["role"] == "tool"] == ["2", "sunny"]


def test_it_tells_the_model_when_a_server_function_gets_invalid_json(sdk, cloud):
    cloud.push(ToolCalls([("engine_test_add", '{"a": 2,')]), Reply(["Sorry, let me retry."]))

    thread, run = _start(sdk, tools=[ADD_TOOL])

    assert run.status == "completed"
    assert calls == []
    (action,) = Action.objects.filter(run_id=run.id)
    assert action.status == "failed" and action.arguments == '{"a": 2,'
    assert "not valid JSON" in json.loads(action.output)["error"]
    assert "not valid JSON" in cloud.requests[1]["messages"][-1]["content"]


def test_it_passes_invalid_json_arguments_to_the_client_as_they_came(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Os')]), Reply(["OK."]))

    thread, run = _start(sdk, tools=[WEATHER_TOOL])

    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.arguments == '{"city": "Os'
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "bad arguments"}],
        poll_interval_ms=20)
    assert done.status == "completed"


def test_it_answers_a_call_to_a_tool_the_assistant_does_not_have(sdk, cloud):
    cloud.push(ToolCalls([("delete_everything", "{}")]), Reply(["I cannot do that."]))

    thread, run = _start(sdk, tools=[WEATHER_TOOL])

    assert run.status == "completed"
    (action,) = Action.objects.filter(run_id=run.id)
    assert (action.status, action.function_name) == ("failed", "delete_everything")
    assert "not enabled" in cloud.requests[1]["messages"][-1]["content"]


def test_it_stops_a_model_that_keeps_calling_tools(sdk, cloud):
    cloud.push(*[ToolCalls([("engine_test_add", '{"a": 1, "b": 2}')]) for _ in range(5)])

    with override_settings(ENTITIES_MAX_TOOL_ROUNDS=3):
        thread, run = _start(sdk, tools=[ADD_TOOL])

    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert "ENTITIES_MAX_TOOL_ROUNDS=3" in run.last_error.message
    assert len(cloud.requests) == 3 and len(calls) == 3


def test_it_pauses_for_an_ollama_tool_call_and_sends_the_result_back(sdk, ollama):
    ollama.push(ToolCalls([("get_weather", '{"city": "Oslo"}')]), Reply(["It is cold."]))

    thread, run = _start(sdk, tools=[WEATHER_TOOL], model="local/llama3.1")

    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.id.startswith("call_") and json.loads(call.function.arguments) == {"city": "Oslo"}
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "-3°C"}],
        poll_interval_ms=20)
    assert done.status == "completed"
    assert ollama.requests[1]["messages"][-2:] == [
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather",
                                                                          "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "content": "-3°C", "tool_name": "get_weather"},
    ]


class TestSubmitToolOutputs:
    @pytest.fixture
    def waiting(self, sdk, cloud):
        cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}'), ("get_weather", '{"city": "Lima"}')]))
        thread, run = _start(sdk, tools=[WEATHER_TOOL])
        assert run.status == "requires_action"
        return thread, run, [c.id for c in run.required_action.submit_tool_outputs.tool_calls]

    def _submit(self, sdk, thread, run, outputs):
        with pytest.raises(openai.BadRequestError) as error:
            sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=outputs)
        return error.value

    def test_it_refuses_an_unknown_call_id(self, sdk, waiting):
        thread, run, (first, second) = waiting
        error = self._submit(sdk, thread, run, [{"tool_call_id": first, "output": "a"},
                                                {"tool_call_id": "call_nope", "output": "b"}])
        assert (error.status_code, error.param) == (400, "tool_outputs[1].tool_call_id")
        assert "call_nope" in error.message

    def test_it_refuses_outputs_that_leave_a_call_out(self, sdk, waiting):
        thread, run, (first, second) = waiting
        error = self._submit(sdk, thread, run, [{"tool_call_id": first, "output": "a"}])
        assert (error.status_code, error.param) == (400, "tool_outputs")
        assert second in error.message

    def test_it_refuses_the_same_call_twice(self, sdk, waiting):
        thread, run, (first, second) = waiting
        error = self._submit(sdk, thread, run, [{"tool_call_id": first, "output": "a"},
                                                {"tool_call_id": first, "output": "b"}])
        assert (error.status_code, error.param) == (400, "tool_outputs[1].tool_call_id")

    def test_it_keeps_waiting_after_a_refused_submission(self, sdk, cloud, waiting):
        thread, run, (first, second) = waiting
        self._submit(sdk, thread, run, [{"tool_call_id": first, "output": "a"}])
        cloud.push(Reply(["ok"]))
        done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, poll_interval_ms=20,
            tool_outputs=[{"tool_call_id": first, "output": "a"}, {"tool_call_id": second, "output": "b"}])
        assert done.status == "completed"

    def test_it_refuses_outputs_for_a_run_that_is_not_waiting(self, sdk, cloud, waiting):
        thread, run, ids = waiting
        outputs = [{"tool_call_id": i, "output": "x"} for i in ids]
        cloud.push(Reply(["ok"]))
        sdk.beta.threads.runs.submit_tool_outputs_and_poll(run_id=run.id, thread_id=thread.id, tool_outputs=outputs,
                                                           poll_interval_ms=20)
        error = self._submit(sdk, thread, run, outputs)
        assert (error.status_code, error.param, error.code) == (400, "run_id", "invalid_run_state")


def test_it_counts_client_side_rounds_toward_the_tool_limit(sdk, cloud):
    cloud.push(*[ToolCalls([("get_weather", '{"city": "Oslo"}')]) for _ in range(4)])
    with override_settings(ENTITIES_MAX_TOOL_ROUNDS=2):
        thread, run = _start(sdk, tools=[WEATHER_TOOL])
        for _ in range(3):
            if run.status != "requires_action":
                break
            call = run.required_action.submit_tool_outputs.tool_calls[0]
            run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
                run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "cold"}],
                poll_interval_ms=20)

    assert run.status == "failed"
    assert "ENTITIES_MAX_TOOL_ROUNDS=2" in run.last_error.message
    assert len(cloud.requests) == 2  # the model is not asked again after the last allowed round


def test_it_ends_incomplete_when_a_tool_loop_spends_the_run_token_budget(sdk, cloud):
    cloud.push(ToolCalls([("engine_test_add", '{"a": 1, "b": 2}')], usage=(40, 20)), Reply(["never"]))

    with override_settings(ENTITIES_MAX_RUN_TOKENS=50):
        thread, run = _start(sdk, tools=[ADD_TOOL])

    assert run.status == "incomplete"
    assert run.usage.total_tokens == 60
    assert len(cloud.requests) == 1


def test_it_counts_client_side_rounds_toward_the_run_token_budget(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}')], usage=(40, 20)), Reply(["never"]))
    with override_settings(ENTITIES_MAX_RUN_TOKENS=50):
        thread, run = _start(sdk, tools=[WEATHER_TOOL])
        call = run.required_action.submit_tool_outputs.tool_calls[0]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "cold"}],
            poll_interval_ms=20)

    assert (run.status, run.incomplete_details.reason) == ("incomplete", "max_completion_tokens")
    assert len(cloud.requests) == 1
