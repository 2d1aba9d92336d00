"""Cancel: `cancelling` at once, `cancelled` soon after, the partial reply kept as an
incomplete message, and the upstream connection closed so the model stops generating."""

from __future__ import annotations

import threading
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from conversations.models import Action, Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, ollama, wait_for, …
from inference.registry import register_function
from testsupport.factories import make_assistant, make_run, make_thread
from testsupport.scenarios import Reply, ToolCalls, words

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LONG_REPLY = "one two three four five six seven eight nine ten " * 20
MODELS = {"cloud": "cloud/fake-model", "ollama": "local/llama3.1"}
tool_gate = threading.Event()


@register_function(name="engine_cancel_gated", parameters={"type": "object", "properties": {}})
def engine_cancel_gated() -> str:
    tool_gate.wait(5)
    return "late"


@pytest.fixture(params=["cloud", "ollama"])
def backend(request):
    return request.getfixturevalue(request.param), MODELS[request.param]


def _start(sdk, model, **assistant_fields):
    assistant = sdk.beta.assistants.create(model=model, **assistant_fields)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Count for me."}])
    return thread, sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)


def test_it_cancels_a_run_mid_reply_and_keeps_the_partial_text(sdk, backend):
    fake, model = backend
    fake.push(Reply(words(LONG_REPLY), delay=0.02))
    thread, run = _start(sdk, model)
    wait_until(lambda: Message.objects.filter(run_id=run.id).exists(), what="the reply started")
    wait_for(sdk, run, {"in_progress"})

    cancelling = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert cancelling.status in ("cancelling", "cancelled")
    cancelled = wait_for(sdk, run, TERMINAL, timeout=5)
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None and cancelled.completed_at is None
    (reply,) = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert (reply.status, reply.incomplete_details.reason) == ("incomplete", "run_cancelled")
    partial = text_of(reply)
    assert partial and LONG_REPLY.startswith(partial) and partial != LONG_REPLY
    assert fake.wait_for_disconnect(timeout=3), "the upstream request was left running"
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert (step.type, step.status) == ("message_creation", "cancelled")


def test_it_reports_cancelling_before_cancelled(sdk, cloud):
    cloud.push(Reply(words(LONG_REPLY), delay=0.02))
    thread, run = _start(sdk, "cloud/fake-model")
    wait_until(lambda: Message.objects.filter(run_id=run.id).exists(), what="the reply started")

    cancelling = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert cancelling.status == "cancelling" and cancelling.cancelled_at is None
    seen = {sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status}
    ended = wait_for(sdk, run, TERMINAL)
    assert ended.status == "cancelled" and seen <= {"cancelling", "cancelled"}


def test_it_cancels_a_run_waiting_for_tool_outputs_at_once(sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}')]))
    thread, run = _start(sdk, "cloud/fake-model", tools=[WEATHER_TOOL])
    waiting = wait_for(sdk, run, {"requires_action"})

    cancelled = sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.required_action is None
    assert list(Action.objects.filter(run_id=run.id).values_list("status", "error")) == [("expired", "run cancelled")]
    call_id = waiting.required_action.submit_tool_outputs.tool_calls[0].id
    with pytest.raises(openai.BadRequestError) as error:
        sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id,
                                                  tool_outputs=[{"tool_call_id": call_id, "output": "x"}])
    assert error.value.param == "run_id"


def test_it_cancels_a_run_while_a_server_side_tool_runs(sdk, cloud):
    tool_gate.clear()
    cloud.push(ToolCalls([("engine_cancel_gated", "{}")]), Reply(["never"]))
    thread, run = _start(sdk, "cloud/fake-model", tools=[{**function_tool("engine_cancel_gated"), "server_side": True}])
    action = wait_until(lambda: Action.objects.filter(run_id=run.id).first(), what="the tool started")

    sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    try:
        cancelled = wait_for(sdk, run, TERMINAL, timeout=5)
    finally:
        tool_gate.set()

    assert cancelled.status == "cancelled"
    assert Action.objects.get(pk=action.pk).status == "expired"
    assert len(cloud.requests) == 1  # the model was not called again


def test_it_refuses_to_cancel_a_finished_run(sdk, cloud):
    cloud.push(Reply(["done"]))
    thread, run = _start(sdk, "cloud/fake-model")
    wait_for(sdk, run, TERMINAL)

    with pytest.raises(openai.BadRequestError) as error:
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert (error.value.param, error.value.code) == ("run_id", "run_not_cancellable")


def test_it_refuses_a_second_cancel(sdk, cloud):
    cloud.push(Reply(words(LONG_REPLY), delay=0.02))
    thread, run = _start(sdk, "cloud/fake-model")
    wait_for(sdk, run, {"in_progress"})
    sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    with pytest.raises(openai.BadRequestError):
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)

    assert wait_for(sdk, run, TERMINAL).status == "cancelled"


def test_it_ends_a_cancelled_run_that_no_process_executes(sdk, alice):
    # Queued by a process that died at once: nobody owns it, its short grace lease runs out.
    thread = make_thread(alice.user)
    run = make_run(thread, make_assistant(alice.user), status="queued", lease_owner="gone-host:1:abc",
                   lease_expires_at=timezone.now() + timedelta(seconds=1))

    assert sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id).status == "cancelling"

    ended = wait_for(sdk, run, TERMINAL, timeout=5)
    assert ended.status == "cancelled" and ended.cancelled_at is not None
    assert Run.objects.get(pk=run.pk).lease_owner == ""


def test_it_stops_a_run_whose_stored_status_says_cancelling(sdk, cloud):
    # What another process's cancel leaves when its channel-layer message is lost:
    # only the stored status. The owner sees it when it renews its lease.
    cloud.push(Reply(words(LONG_REPLY), delay=0.02))
    thread, run = _start(sdk, "cloud/fake-model")
    wait_until(lambda: Message.objects.filter(run_id=run.id).exists(), what="the reply started")

    Run.objects.filter(pk=run.id).update(status="cancelling")

    ended = wait_for(sdk, run, TERMINAL, timeout=5)  # leases renew every second in tests
    assert ended.status == "cancelled"
    assert Message.objects.get(run_id=run.id).status == "incomplete"
    assert cloud.wait_for_disconnect(timeout=2)


def test_it_cancels_runs_cancelled_right_after_they_were_created(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    for _ in range(5):
        cloud.push(Reply(words(LONG_REPLY), delay=0.02))
    runs = []
    for _ in range(5):
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Quick."}])
        run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        runs.append(run)

    # Well inside the 5 s a queued run's grace lease would take to reach the sweeper.
    assert [wait_for(sdk, run, TERMINAL, timeout=2).status for run in runs] == ["cancelled"] * 5


# --- a cancel that interrupts the creation of the reply's message ---------------------------
# The executor's await on the message insert can be cancelled while the insert still runs in
# its worker thread; the executor then never learns of the message. Either order of the two
# writes must leave no message in progress on an ended run.

@pytest.mark.django_db
def test_ending_a_run_closes_a_message_the_executor_lost_track_of(alice):
    from conversations.engine import store

    run = make_run(make_thread(alice.user), make_assistant(alice.user), status="cancelling")
    message = store.create_assistant_message(run)  # created before the run ends

    assert store.finish_run(run.id, "cancelled", usage=None, event_seq=1) is not None

    message.refresh_from_db()
    assert (message.status, message.incomplete_details) == ("incomplete", {"reason": "run_cancelled"})


@pytest.mark.django_db
def test_a_message_created_after_its_run_ended_is_closed_at_once(alice):
    from conversations.engine import store

    run = make_run(make_thread(alice.user), make_assistant(alice.user), status="cancelled")

    message = store.create_assistant_message(run)  # the insert lands after the ending

    stored = Message.objects.get(pk=message.pk)
    assert (stored.status, stored.incomplete_details) == ("incomplete", {"reason": "run_cancelled"})
    assert message.status == "incomplete"


@pytest.mark.django_db
def test_a_completed_run_leaves_its_completed_message_alone(alice):
    from conversations.engine import store

    run = make_run(make_thread(alice.user), make_assistant(alice.user), status="in_progress")
    message = store.finish_message(store.create_assistant_message(run), "done")
    store.finish_run(run.id, "completed", usage=None, event_seq=1)

    message.refresh_from_db()
    assert (message.status, message.content[0]["text"]["value"]) == ("completed", "done")
