"""Runs nobody will finish are ended: a killed server process, an expired lease, a run
past its expires_at; queued runs nobody executes are adopted by the sweeper."""

from __future__ import annotations

import time
from datetime import timedelta

import openai
import pytest
from django.test import override_settings
from django.utils import timezone

from conversations.engine.sweeper import OWNER_LOST_ERROR
from conversations.models import Action, Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_for, …
from testsupport.factories import make_action, make_assistant, make_message, make_run, make_thread
from testsupport.processes import EntitiesProcess, database_env_for_subprocess
from testsupport.scenarios import Reply, ToolCalls, words

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHECKPOINT_SLACK_SECONDS = 0.5  # a busy test machine may run the checkpoint a little late


@pytest.mark.slow
def test_a_reply_killed_mid_stream_keeps_the_text_streamed_up_to_a_second_before(live_entities, sdk, alice,
                                                                                fake_openai):
    # 200 chunks, 50 ms apart: the reply is still streaming when the process dies.
    full = "slowly " * 200
    fake_openai.push(Reply(words(full), delay=0.05))
    # A lease long enough that this process's sweeper never mistakes a busy machine for a dead owner.
    env = {**database_env_for_subprocess(), "ENTITIES_RUN_LEASE_SECONDS": "5", "ENTITIES_SWEEP_INTERVAL_SECONDS": "0.3",
           "ENTITIES_CHECKPOINT_SECONDS": "1", "OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "test"}

    with EntitiesProcess(env=env) as first:
        client = openai.OpenAI(base_url=first.v1, api_key=alice.api_key, max_retries=0, timeout=10)
        assistant = client.beta.assistants.create(model="cloud/fake-model")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Tell me everything."}])
        seen: list[tuple[float, str]] = []  # (when, the text the client had then)
        text, partial = "", None
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            for event in stream:
                if event.event != "thread.message.delta":
                    continue
                text += "".join(p.text.value for p in event.data.delta.content if p.type == "text")
                seen.append((time.monotonic(), text))
                if partial is None and len(text) > 150:  # about 1 s of reply
                    # Another process (this one) serves the partial text from the checkpoints.
                    partial = wait_until(lambda: _partial_reply(sdk, thread.id, stream.current_run.id), timeout=3,
                                         what="the partial text over REST")
                if len(text) > 420:  # about 3 s of reply
                    killed_at = time.monotonic()
                    first.kill()
                    break
        assert partial is not None, f"the stream ended early: {text!r}"
        assert partial.status == "in_progress" and text_of(partial) and full.startswith(text_of(partial))
        assert fake_openai.wait_for_disconnect(timeout=5), "the model server never saw the connection drop"

    with EntitiesProcess(env=env) as second:
        client = openai.OpenAI(base_url=second.v1, api_key=alice.api_key, max_retries=0, timeout=10)
        ended = wait_for(client, stream.current_run, TERMINAL, timeout=15)
        messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data

    assert ended.status == "failed"
    assert ended.last_error.model_dump() == {"code": "server_error", "message": OWNER_LOST_ERROR}
    assert "kept" in OWNER_LOST_ERROR and ended.failed_at is not None
    assert [(m.role, m.status) for m in messages] == [("user", "completed"), ("assistant", "incomplete")]
    assert messages[1].incomplete_details.reason == "run_failed"
    kept = text_of(messages[1])
    # Everything the client had seen 1 s before the kill (plus scheduling slack) is stored.
    before = [t for when, t in seen if when <= killed_at - 1.0 - CHECKPOINT_SLACK_SECONDS]
    assert before, "the reply had not streamed long enough before the kill"
    assert full.startswith(kept) and kept.startswith(before[-1]), (len(kept), len(before[-1]))
    assert len(fake_openai.requests) == 1  # nobody silently restarted the reply


def _partial_reply(sdk, thread_id: str, run_id: str):
    listed = sdk.beta.threads.messages.list(thread_id=thread_id, run_id=run_id).data
    return listed[0] if listed and text_of(listed[0]) else None


def test_it_fails_an_in_progress_run_whose_owner_lease_expired(live_entities, sdk, alice):
    thread = make_thread(alice.user)
    make_message(thread, text="Are you there?")
    run = make_run(thread, make_assistant(alice.user), status="in_progress", lease_owner="gone-host:1:abc",
                   lease_expires_at=timezone.now() - timedelta(seconds=1), started_at=timezone.now())
    make_message(thread, role="assistant", text="I was say", status="in_progress", run=run)
    action = make_action(run, status="pending")

    ended = wait_for(sdk, run, TERMINAL)

    assert ended.status == "failed"
    assert ended.last_error.message == OWNER_LOST_ERROR
    partial = Message.objects.get(run=run)
    assert (partial.status, partial.incomplete_details, partial.text()) == ("incomplete", {"reason": "run_failed"},
                                                                           "I was say")
    assert Action.objects.get(pk=action.pk).status == "expired"
    assert Message.objects.filter(thread=thread).count() == 2


def test_it_cancels_a_cancelling_run_whose_owner_died(live_entities, sdk, alice):
    thread = make_thread(alice.user)
    run = make_run(thread, make_assistant(alice.user), status="cancelling", lease_owner="gone-host:1:abc",
                   lease_expires_at=timezone.now() - timedelta(seconds=1))

    ended = wait_for(sdk, run, TERMINAL)

    assert ended.status == "cancelled" and ended.cancelled_at is not None


def test_it_leaves_a_run_with_a_live_lease_alone(live_entities, sdk, alice):
    thread = make_thread(alice.user)
    run = make_run(thread, make_assistant(alice.user), status="in_progress", lease_owner="busy-host:1:abc",
                   lease_expires_at=timezone.now() + timedelta(seconds=60))

    time.sleep(1.2)  # a couple of sweeps (every 0.5 s in tests)

    assert Run.objects.get(pk=run.pk).status == "in_progress"


def test_it_adopts_a_queued_run_nobody_executes(live_entities, sdk, alice, cloud):
    cloud.push(Reply(["adopted"]))
    thread = make_thread(alice.user)
    make_message(thread, text="Anyone?")
    # Queued by a process that died before it started the run: its short lease has expired.
    run = make_run(thread, make_assistant(alice.user, model="cloud/fake-model"), status="queued",
                   lease_expires_at=timezone.now() - timedelta(seconds=1), expires_at=timezone.now() + timedelta(minutes=5))

    ended = wait_for(sdk, run, TERMINAL)

    assert ended.status == "completed"
    assert Message.objects.get(run=run).text() == "adopted"


def test_it_expires_a_run_waiting_for_tool_outputs_past_its_expiry(live_entities, sdk, cloud):
    cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}')]))
    with override_settings(ENTITIES_RUN_EXPIRES_SECONDS=2):
        assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[WEATHER_TOOL])
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Weather?"}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                    poll_interval_ms=20)
        assert run.status == "requires_action"

        ended = wait_for(sdk, run, TERMINAL, timeout=6)

    assert ended.status == "expired"
    assert ended.required_action is None
    assert list(Action.objects.filter(run_id=run.id).values_list("status", "error")) == [("expired", "run expired")]
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "expired")]
    with pytest.raises(openai.BadRequestError) as error:
        sdk.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id,
            tool_outputs=[{"tool_call_id": run.required_action.submit_tool_outputs.tool_calls[0].id, "output": "x"}])
    assert error.value.param == "run_id"


def test_it_expires_a_queued_run_past_its_expiry(live_entities, sdk, alice):
    thread = make_thread(alice.user)
    run = make_run(thread, make_assistant(alice.user), status="queued", lease_owner="someone",
                   lease_expires_at=timezone.now() + timedelta(minutes=5),
                   expires_at=timezone.now() - timedelta(seconds=1))

    ended = wait_for(sdk, run, TERMINAL)

    assert ended.status == "expired"


def test_it_expires_a_run_still_streaming_past_its_expiry(live_entities, sdk, cloud):
    cloud.push(Reply(words("tick " * 200), delay=0.02))
    with override_settings(ENTITIES_RUN_EXPIRES_SECONDS=1):
        assistant = sdk.beta.assistants.create(model="cloud/fake-model")
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Count."}])
        run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

        ended = wait_for(sdk, run, TERMINAL, timeout=6)

    assert ended.status == "expired"
    reply = Message.objects.get(run_id=run.id)
    assert (reply.status, reply.incomplete_details) == ("incomplete", {"reason": "run_expired"})
    assert reply.text().startswith("tick")
    assert cloud.wait_for_disconnect(timeout=2)


@pytest.mark.slow
def test_it_cancels_a_run_executing_in_another_process(live_entities, sdk, alice, fake_openai):
    fake_openai.push(Reply(words("slowly " * 200), delay=0.05))
    # A lease long enough that this process's sweeper never mistakes a busy machine for a
    # dead owner; the cancel still arrives within a renewal (a third of it).
    env = {**database_env_for_subprocess(), "ENTITIES_RUN_LEASE_SECONDS": "6", "OPENAI_BASE_URL": fake_openai.url,
           "OPENAI_API_KEY": "test"}
    with EntitiesProcess(env=env) as other:
        remote = openai.OpenAI(base_url=other.v1, api_key=alice.api_key, max_retries=0, timeout=10)
        assistant = remote.beta.assistants.create(model="cloud/fake-model")
        thread = remote.beta.threads.create(messages=[{"role": "user", "content": "Go on."}])
        run = remote.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        wait_until(lambda: Message.objects.filter(run_id=run.id).exists(), what="the reply streaming")

        # Cancelled through this process; the run lives in the other one.
        assert sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id).status == "cancelling"
        ended = wait_for(sdk, run, TERMINAL, timeout=8)

        assert ended.status == "cancelled", (ended.last_error, other.output())
        assert fake_openai.wait_for_disconnect(timeout=3)
        reply = remote.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
        assert reply.status == "incomplete" and text_of(reply).startswith("slowly")
