"""The official openai SDK's streaming helpers against a live Entities server.

Every run here goes to the fake OpenAI server (`cloud/x`), so the replies, tool calls and
failures are scripted; the event orders asserted are the ones in the Assistants API's own
examples (checklist §4).
"""

from __future__ import annotations

import json

import httpx
import pytest
from openai import AssistantEventHandler
from openai.types.beta import assistant_stream_event as ev

from conversations.models import Action, Message, Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import HttpError, Reply, ToolCalls
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud, names, parse_sse  # noqa: F401 - cloud is a fixture

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "The weather in a city.",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}
WEATHER_ARGUMENTS = '{"city": "Paris"}'

TEXT_REPLY_ORDER = [
    "thread.run.created", "thread.run.queued", "thread.run.in_progress",
    "thread.run.step.created", "thread.run.step.in_progress",
    "thread.message.created", "thread.message.in_progress",
    *["thread.message.delta"] * len(FAKE_CHUNKS),
    "thread.message.completed", "thread.run.step.completed", "thread.run.completed",
]
# The fake streams the arguments in 5-character fragments after announcing the call.
ARGUMENT_DELTAS = 1 + -(-len(WEATHER_ARGUMENTS) // 5)
TOOL_CALL_ORDER = [
    "thread.created", "thread.run.created", "thread.run.queued", "thread.run.in_progress",
    "thread.run.step.created", "thread.run.step.in_progress",
    *["thread.run.step.delta"] * ARGUMENT_DELTAS,
    "thread.run.requires_action",
]
AFTER_OUTPUTS_ORDER = [
    "thread.run.step.completed", "thread.run.queued", "thread.run.in_progress",
    "thread.run.step.created", "thread.run.step.in_progress",
    "thread.message.created", "thread.message.in_progress",
    *["thread.message.delta"] * len(FAKE_CHUNKS),
    "thread.message.completed", "thread.run.step.completed", "thread.run.completed",
]


class Recorder(AssistantEventHandler):
    """Writes down everything the SDK's handler reports."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.text_deltas: list[str] = []
        self.texts_done: list[str] = []
        self.tool_calls_done: list = []
        self.steps_done: list = []

    def on_event(self, event) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta, snapshot) -> None:
        self.text_deltas.append(delta.value)

    def on_text_done(self, text) -> None:
        self.texts_done.append(text.value)

    def on_tool_call_done(self, tool_call) -> None:
        self.tool_calls_done.append(tool_call)

    def on_run_step_done(self, run_step) -> None:
        self.steps_done.append(run_step)


@pytest.fixture
def assistant(sdk, cloud):
    return sdk.beta.assistants.create(model="cloud/x", name="Forecaster", instructions="Be brief.",
                                      tools=[WEATHER_TOOL])


def test_it_streams_a_text_reply_through_an_event_handler_in_the_spec_order(sdk, cloud, assistant):
    cloud.push(Reply(FAKE_CHUNKS))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Say hello"}])
    handler = Recorder()

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as stream:
        stream.until_done()
        final_run = stream.get_final_run()
        final_messages = stream.get_final_messages()
        final_steps = stream.get_final_run_steps()

    assert handler.events == TEXT_REPLY_ORDER
    assert handler.text_deltas == FAKE_CHUNKS
    assert handler.texts_done == [FAKE_TEXT]
    assert (final_run.status, final_run.thread_id, final_run.assistant_id) == ("completed", thread.id, assistant.id)
    assert final_run.usage is not None and final_run.usage.completion_tokens == len(FAKE_CHUNKS)
    assert [(m.role, m.status, m.content[0].text.value) for m in final_messages] == [
        ("assistant", "completed", FAKE_TEXT)]
    # The SDK's step snapshots are built from created + delta events only, so they stay in_progress.
    assert [(s.type, s.step_details.message_creation.message_id) for s in final_steps] == [
        ("message_creation", final_messages[0].id)]
    stored = sdk.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.content[0].text.value for m in stored] == ["Say hello", FAKE_TEXT]
    assert stored[1].id == final_messages[0].id


def test_it_streams_create_and_run_to_requires_action_then_continues_with_submitted_outputs(sdk, cloud, assistant):
    cloud.push(ToolCalls([("get_weather", WEATHER_ARGUMENTS)]), Reply(FAKE_CHUNKS))
    first = Recorder()

    with sdk.beta.threads.create_and_run_stream(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "Weather in Paris?"}]},
        event_handler=first,
    ) as stream:
        stream.until_done()
        paused = stream.get_final_run()
        [tool_step_id] = [s.id for s in stream.get_final_run_steps()]

    assert first.events == TOOL_CALL_ORDER
    assert paused.status == "requires_action"
    assert paused.usage is not None
    [call] = paused.required_action.submit_tool_outputs.tool_calls
    assert call.id.startswith("call_")
    assert (call.type, call.function.name, call.function.arguments) == ("function", "get_weather", WEATHER_ARGUMENTS)
    # The handler put the streamed argument fragments back together.
    [streamed_call] = first.tool_calls_done
    assert (streamed_call.id, streamed_call.function.name, streamed_call.function.arguments) == (
        call.id, "get_weather", WEATHER_ARGUMENTS)

    second = Recorder()
    with sdk.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=paused.thread_id, run_id=paused.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "22 °C, sunny"}],
        event_handler=second,
    ) as stream:
        stream.until_done()
        final_run = stream.get_final_run()
        final_messages = stream.get_final_messages()
        final_steps = stream.get_final_run_steps()

    assert second.events == AFTER_OUTPUTS_ORDER
    assert second.text_deltas == FAKE_CHUNKS
    assert (final_run.id, final_run.status, final_run.required_action) == (paused.id, "completed", None)
    assert [m.content[0].text.value for m in final_messages] == [FAKE_TEXT]
    assert [s.type for s in final_steps] == ["message_creation"]  # the tool step was created in the first stream
    tool_step = second.steps_done[0]  # the leading thread.run.step.completed
    assert (tool_step.type, tool_step.status, tool_step.id) == ("tool_calls", "completed", tool_step_id)
    [done_call] = tool_step.step_details.tool_calls
    assert (done_call.id, done_call.function.arguments, done_call.function.output) == (
        call.id, WEATHER_ARGUMENTS, "22 °C, sunny")
    # The model saw the tool result on its second turn.
    tool_message = cloud.requests[1]["messages"][-1]
    assert (tool_message["role"], tool_message["tool_call_id"], tool_message["content"]) == (
        "tool", call.id, "22 °C, sunny")
    steps = sdk.beta.threads.runs.steps.list(paused.id, thread_id=paused.thread_id, order="asc").data
    assert steps[0].step_details.tool_calls[0].function.output == "22 °C, sunny"


def test_it_yields_typed_events_from_runs_create_with_stream_true(sdk, cloud, assistant):
    cloud.push(Reply(FAKE_CHUNKS))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Say hello"}])

    stream = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True)
    events = list(stream)

    assert [e.event for e in events] == TEXT_REPLY_ORDER
    expected_types = {
        "thread.run.created": ev.ThreadRunCreated, "thread.run.queued": ev.ThreadRunQueued,
        "thread.run.in_progress": ev.ThreadRunInProgress, "thread.run.step.created": ev.ThreadRunStepCreated,
        "thread.run.step.in_progress": ev.ThreadRunStepInProgress, "thread.message.created": ev.ThreadMessageCreated,
        "thread.message.in_progress": ev.ThreadMessageInProgress, "thread.message.delta": ev.ThreadMessageDelta,
        "thread.message.completed": ev.ThreadMessageCompleted, "thread.run.step.completed": ev.ThreadRunStepCompleted,
        "thread.run.completed": ev.ThreadRunCompleted,
    }
    assert all(type(e) is expected_types[e.event] for e in events)
    created = events[5].data
    assert (created.status, created.content, created.attachments) == ("in_progress", [], [])
    deltas = [e.data for e in events if e.event == "thread.message.delta"]
    assert {d.id for d in deltas} == {created.id}
    assert [(p.index, p.type, p.text.value) for d in deltas for p in d.delta.content] == [
        (0, "text", chunk) for chunk in FAKE_CHUNKS]
    assert events[-1].data.status == "completed"


def test_it_streams_thread_run_failed_with_last_error_when_the_model_server_fails(live_entities, alice, sdk, cloud,
                                                                                   assistant):
    cloud.push(HttpError(500))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Say hello"}])
    handler = Recorder()

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as stream:
        stream.until_done()
        final_run = stream.get_final_run()

    assert handler.events == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.failed"]
    assert final_run.status == "failed" and final_run.failed_at is not None
    assert final_run.last_error.code == "server_error"
    assert "500" in final_run.last_error.message

    # On the wire: the failed run, then the explicit end.
    cloud.push(HttpError(500))
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Again"}])
    raw = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers,
                     json={"assistant_id": assistant.id, "stream": True}, timeout=20)
    events = parse_sse(raw.text)
    assert names(events)[-2:] == ["thread.run.failed", "done"]
    failed = events[-2].json()
    assert failed["last_error"] == {"code": "server_error", "message": final_run.last_error.message}
    assert raw.text.endswith("event: done\ndata: [DONE]\n\n")
    assert Run.objects.get(pk=failed["id"]).status == "failed"


def test_it_streams_the_builtin_demo_model_with_no_backend_configured(sdk):
    assistant = sdk.beta.assistants.create(model="demo/echo")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "ping"}])
    handler = Recorder()

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as stream:
        stream.until_done()
        [message] = stream.get_final_messages()

    deltas = handler.events.count("thread.message.delta")
    assert deltas > 3
    assert handler.events == TEXT_REPLY_ORDER[:7] + ["thread.message.delta"] * deltas + TEXT_REPLY_ORDER[-3:]
    assert "".join(handler.text_deltas) == message.content[0].text.value
    assert "You said: ping" in message.content[0].text.value
    assert Message.objects.get(pk=message.id).content[0]["text"]["value"] == message.content[0].text.value
    assert not Action.objects.exists()


def test_it_keeps_the_compact_json_of_each_event_unchanged_by_the_sdk(live_entities, alice, cloud, assistant, sdk):
    # What the SDK parses is exactly what the server sent: one compact JSON object per event.
    cloud.push(Reply(FAKE_CHUNKS))
    thread = sdk.beta.threads.create()
    raw = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers,
                     json={"assistant_id": assistant.id, "stream": True}, timeout=20)
    for event in parse_sse(raw.text)[:-1]:
        assert event.data == json.dumps(event.json(), separators=(",", ":"), ensure_ascii=False)
