"""Runs and run steps over REST (non-streaming, plus the `stream: true` switch) through the SDK.

The demo backend answers: `demo/echo` replies at once, `demo/slow` slowly, and `demo/tools`
calls the client-side function it is offered, so the run waits in `requires_action`.
"""

from __future__ import annotations

import time
from unittest.mock import ANY

import httpx
import openai
import pytest

INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
LOOKUP_TOOL = {
    "type": "function",
    "function": {"name": "lookup_order", "description": "Find an order.",
                 "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}},
}
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


def wait_for(client, run, statuses, timeout: float = 20.0):
    """Poll the run until its status is in ``statuses``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
        if run.status in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run.id} still {run.status} after {timeout} s"
        time.sleep(0.05)


@pytest.fixture
def assistant(sdk):
    return sdk.beta.assistants.create(model="demo/echo", name="Echo", instructions="Repeat.",
                                      tools=[{"type": "code_interpreter"}], temperature=0.7, top_p=0.8)


@pytest.fixture
def thread(sdk):
    return sdk.beta.threads.create(messages=[{"role": "user", "content": "hello there"}])


@pytest.fixture
def waiting_run(sdk, thread):
    """A run in requires_action: demo/tools calls the client-side `lookup_order`."""
    tools_assistant = sdk.beta.assistants.create(model="demo/tools", tools=[LOOKUP_TOOL])
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=tools_assistant.id)
    return wait_for(sdk, run, {"requires_action", *TERMINAL})


def test_it_creates_a_queued_run_with_the_assistant_fields_copied(live_entities, alice, assistant, thread):
    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers,
                          json={"assistant_id": assistant.id})

    assert response.status_code == 200
    run = response.json()
    assert run == {
        "id": ANY, "object": "thread.run", "created_at": ANY, "thread_id": thread.id, "assistant_id": assistant.id,
        "status": "queued", "required_action": None, "last_error": None, "expires_at": run["created_at"] + 600,
        "started_at": None, "cancelled_at": None, "failed_at": None, "completed_at": None,
        "incomplete_details": None, "model": "demo/echo", "instructions": "Repeat.",
        "tools": [{"type": "code_interpreter"}], "metadata": {}, "usage": None, "temperature": 0.7, "top_p": 0.8,
        "max_prompt_tokens": None, "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None}, "tool_choice": "auto",
        "parallel_tool_calls": True, "response_format": "auto", "reasoning_effort": None,
    }
    assert run["id"].startswith("run_")


def test_it_applies_per_run_overrides(live_entities, alice, sdk, assistant, thread):
    overrides = {
        "model": "demo/tools", "instructions": "Override.", "additional_instructions": "Also this.",
        "tools": [LOOKUP_TOOL], "metadata": {"run": "1"}, "temperature": 0.3, "top_p": 0.5,
        "max_prompt_tokens": 1000, "max_completion_tokens": 500,
        "truncation_strategy": {"type": "last_messages", "last_messages": 4}, "tool_choice": "none",
        "parallel_tool_calls": False, "response_format": {"type": "text"}, "reasoning_effort": "low",
        "additional_messages": [{"role": "user", "content": "one more thing"}], "stream": False,
    }
    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers,
                          json={"assistant_id": assistant.id, **overrides}, params={"include[]": INCLUDE})

    assert response.status_code == 200
    run = response.json()
    assert {key: run[key] for key in run if key in overrides} == {
        key: value for key, value in overrides.items()
        if key not in ("additional_instructions", "additional_messages", "stream")
    }
    assert run["status"] == "queued"
    given = sdk.beta.threads.messages.list(thread.id, order="asc", limit=2).data
    assert [m.content[0].text.value for m in given] == ["hello there", "one more thing"]


def test_it_runs_to_completion_and_serves_the_poll_header(live_entities, alice, sdk, assistant, thread):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "completed"
    assert run.completed_at is not None and run.expires_at is None
    assert run.usage is not None and run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    raw = httpx.get(f"{live_entities.v1}/threads/{thread.id}/runs/{run.id}", headers=alice.headers)
    assert raw.headers["openai-poll-after-ms"] == "100"
    replies = sdk.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert [(m.role, m.run_id, m.assistant_id) for m in replies] == [("assistant", run.id, assistant.id)]
    assert "hello there" in replies[0].content[0].text.value


def test_it_lists_runs_and_their_steps(sdk, assistant, thread):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert [r.id for r in sdk.beta.threads.runs.list(thread.id)] == [run.id]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, include=[INCLUDE]).data
    assert [(s.type, s.status, s.run_id) for s in steps] == [("message_creation", "completed", run.id)]
    step = sdk.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id, include=[INCLUDE])
    assert step == steps[0]
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.runs.steps.retrieve("step_nope", thread_id=thread.id, run_id=run.id)


@pytest.mark.parametrize("path", ["/steps", "/steps/step_x"])
def test_it_validates_include(live_entities, alice, sdk, assistant, thread, path):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    response = httpx.get(f"{live_entities.v1}/threads/{thread.id}/runs/{run.id}{path}",
                         params={"include[]": "step_details.everything"}, headers=alice.headers)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "include[]"


def test_it_modifies_run_metadata(sdk, assistant, thread):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    updated = sdk.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"label": "done"})

    assert updated.metadata == {"label": "done"}
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).metadata == {"label": "done"}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.threads.runs.update(run.id, thread_id=thread.id, extra_body={"status": "completed"})
    assert caught.value.param == "status"


def test_it_waits_for_tool_outputs_and_continues(sdk, thread, waiting_run):
    run = waiting_run
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.type, c.function.name, c.id[:5]) for c in calls] == [("function", "lookup_order", "call_")]

    with pytest.raises(openai.BadRequestError) as wrong:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id,
                                                  tool_outputs=[{"tool_call_id": "call_wrong", "output": "x"}])
    assert wrong.value.param == "tool_outputs[0].tool_call_id"
    with pytest.raises(openai.BadRequestError) as missing:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[])
    assert missing.value.param == "tool_outputs"

    continued = sdk.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": '{"status": "shipped"}'}])
    assert (continued.status, continued.required_action) == ("queued", None)

    done = wait_for(sdk, continued, TERMINAL)
    assert done.status == "completed"
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    assert steps[0].step_details.tool_calls[0].function.output == '{"status": "shipped"}'


def test_it_refuses_a_second_run_or_a_message_while_a_run_is_active(sdk, thread, waiting_run, assistant):
    with pytest.raises(openai.BadRequestError) as second:
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError) as message:
        sdk.beta.threads.messages.create(thread.id, role="user", content="me too")

    assert second.value.code == "thread_locked"
    assert message.value.code == "thread_locked"


def test_it_cancels_a_run_waiting_for_tool_outputs(sdk, thread, waiting_run):
    cancelled = sdk.beta.threads.runs.cancel(waiting_run.id, thread_id=thread.id)

    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None
    assert cancelled.required_action is None


def test_it_cancels_a_running_run(sdk, thread):
    slow = sdk.beta.assistants.create(model="demo/slow")
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=slow.id)

    cancelling = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert cancelling.status == "cancelling"
    finished = wait_for(sdk, cancelling, TERMINAL)
    assert finished.status == "cancelled"
    assert finished.cancelled_at is not None


def test_it_refuses_to_cancel_or_take_outputs_for_a_completed_run(sdk, assistant, thread):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"

    with pytest.raises(openai.BadRequestError) as cancel:
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    with pytest.raises(openai.BadRequestError) as outputs:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id,
                                                  tool_outputs=[{"tool_call_id": "call_x", "output": "x"}])

    assert (cancel.value.status_code, cancel.value.code) == (400, "run_not_cancellable")
    assert (outputs.value.status_code, outputs.value.code) == (400, "invalid_run_state")


def test_it_creates_a_thread_and_a_run_in_one_request(live_entities, alice, sdk, assistant):
    file_id = sdk.files.create(file=("data.csv", b"a,b\n"), purpose="assistants").id
    response = httpx.post(f"{live_entities.v1}/threads/runs", headers=alice.headers, json={
        "assistant_id": assistant.id, "stream": False, "metadata": {"via": "createThreadAndRun"},
        "thread": {"messages": [{"role": "user", "content": "new thread"}], "metadata": {"t": "1"}},
        "tool_resources": {"code_interpreter": {"file_ids": [file_id]}},
    })

    assert response.status_code == 200
    run = response.json()
    assert (run["status"], run["metadata"], run["model"]) == ("queued", {"via": "createThreadAndRun"}, "demo/echo")
    thread = sdk.beta.threads.retrieve(run["thread_id"])
    assert thread.metadata == {"t": "1"}
    assert thread.tool_resources.code_interpreter.file_ids == [file_id]
    first = sdk.beta.threads.messages.list(thread.id, order="asc", limit=1).data[0]
    assert (first.role, first.content[0].text.value) == ("user", "new thread")


def test_it_runs_create_and_run_poll_to_completion(sdk, assistant):
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "polled"}]})

    assert run.status == "completed"


def test_it_switches_to_server_sent_events_on_stream_true(sdk, assistant, thread):
    # The stream itself is conversations.streaming's; this checks the REST switch reaches it.
    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        final = stream.get_final_run()

    assert final.status == "completed"


def test_it_streams_create_thread_and_run_starting_with_the_new_thread(sdk, assistant):
    with sdk.beta.threads.create_and_run_stream(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "streamed"}]}) as stream:
        events = [event.event for event in stream]
        final = stream.get_final_run()

    assert events[0] == "thread.created"
    assert final.status == "completed"


def test_it_streams_the_continuation_after_tool_outputs(sdk, thread, waiting_run):
    call = waiting_run.required_action.submit_tool_outputs.tool_calls[0]

    with sdk.beta.threads.runs.submit_tool_outputs_stream(
            run_id=waiting_run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "42"}]) as stream:
        stream.until_done()
        final = stream.get_final_run()

    assert final.status == "completed"


def test_it_answers_404_for_an_unknown_assistant(sdk, thread):
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_missing")

    assert (caught.value.param, caught.value.code) == ("assistant_id", "not_found")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "assistant_id"),
        ({"assistant_id": 7}, "assistant_id"),
        ({"tools": [{"type": "code_interpreter"}] * 21}, "tools"),
        ({"max_prompt_tokens": 255}, "max_prompt_tokens"),
        ({"max_completion_tokens": "many"}, "max_completion_tokens"),
        ({"truncation_strategy": {"type": "first_messages"}}, "truncation_strategy.type"),
        ({"truncation_strategy": {"type": "last_messages", "last_messages": 0}}, "truncation_strategy.last_messages"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.function"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"stream": "yes"}, "stream"),
        ({"additional_messages": [{"role": "system", "content": "x"}]}, "additional_messages[0].role"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"temperature": -0.1}, "temperature"),
        ({"thread": {}}, "thread"),
    ],
)
def test_it_validates_the_create_run_body(live_entities, alice, assistant, thread, body, param):
    payload = {"assistant_id": assistant.id, **body} if "assistant_id" not in body and body else body
    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers, json=payload)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"thread": {"messages": [{"role": "user", "content": []}]}}, "thread.messages[0].content"),
        ({"thread": "hello"}, "thread"),
        ({"additional_instructions": "not on this endpoint"}, "additional_instructions"),
        ({"tool_resources": {"code_interpreter": {"file_ids": "f"}}}, "tool_resources.code_interpreter.file_ids"),
    ],
)
def test_it_validates_the_create_thread_and_run_body(live_entities, alice, assistant, body, param):
    response = httpx.post(f"{live_entities.v1}/threads/runs", headers=alice.headers,
                          json={"assistant_id": assistant.id, **body})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
