"""A run's life through the official SDK: queued at once, executed detached, completed
with its message, usage and steps — over both wire protocols (OpenAI and Ollama)."""

from __future__ import annotations

import time

import httpx
import pytest

from conversations.models import Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, ollama, wait_for, …
from testsupport.scenarios import Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def assistant(sdk):
    return sdk.beta.assistants.create(model="cloud/fake-model", instructions="Be brief.")


@pytest.fixture
def thread(sdk):
    return sdk.beta.threads.create(messages=[{"role": "user", "content": "Say hello."}])


def test_it_returns_queued_at_once_and_finishes_with_nobody_polling(live_entities, alice, cloud, assistant, thread):
    cloud.push(Reply(["Hel", "lo"], first_delay=0.5))
    started = time.monotonic()

    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/runs", headers=alice.headers,
                          json={"assistant_id": assistant.id, "stream": False})

    assert time.monotonic() - started < 0.5  # the reply has not even started
    assert (response.status_code, response.json()["status"]) == (200, "queued")
    run_id = response.json()["id"]
    # Nobody asks the API again: the database alone shows the run finishing.
    done = wait_until(lambda: Run.objects.filter(pk=run_id, status="completed").first(), what="run completed")
    assert done.usage == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert Message.objects.get(run_id=run_id).text() == "Hello"


def test_it_completes_a_run_with_create_and_poll(sdk, cloud, assistant, thread):
    cloud.push(Reply(["Hel", "lo", " there"], usage=(7, 3)))

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)

    assert run.status == "completed"
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (7, 3, 10)
    assert (run.last_error, run.incomplete_details, run.expires_at, run.required_action) == (None, None, None, None)
    assert run.started_at and run.completed_at and run.completed_at >= run.started_at
    messages = sdk.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [(m.role, m.status, text_of(m)) for m in messages] == [
        ("user", "completed", "Say hello."), ("assistant", "completed", "Hello there")]
    reply = messages[1]
    assert (reply.run_id, reply.assistant_id) == (run.id, assistant.id)
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [(s.type, s.status, s.step_details.message_creation.message_id) for s in steps] == [
        ("message_creation", "completed", reply.id)]


def test_it_creates_a_thread_and_runs_it_with_create_and_run_poll(sdk, cloud, assistant):
    cloud.push(Reply(["Fine", ", thanks"], usage=(3, 2)))

    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "How are you?"}]},
        poll_interval_ms=20)

    assert run.status == "completed"
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (3, 2, 5)
    messages = sdk.beta.threads.messages.list(thread_id=run.thread_id, order="asc").data
    assert [text_of(m) for m in messages] == ["How are you?", "Fine, thanks"]


def test_it_shows_no_usage_until_the_run_is_terminal(sdk, cloud, assistant, thread):
    cloud.push(Reply(["slow"] * 20, delay=0.05))
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    running = wait_for(sdk, run, {"in_progress"})
    assert (running.usage, running.completed_at) == (None, None)
    assert running.expires_at is not None and running.started_at is not None

    done = wait_for(sdk, run, TERMINAL)
    assert done.status == "completed" and done.usage.completion_tokens == 20


def test_it_runs_over_the_ollama_protocol(sdk, ollama):
    ollama.push(Reply(["Hi", " from", " Ollama"], usage=(5, 3)))
    assistant = sdk.beta.assistants.create(model="local/llama3.1", instructions="Be brief.")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello?"}])

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)

    assert run.status == "completed"
    assert (run.usage.prompt_tokens, run.usage.completion_tokens, run.usage.total_tokens) == (5, 3, 8)
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert [text_of(m) for m in reply] == ["Hi from Ollama"]
    assert ollama.requests[0]["model"] == "llama3.1"
    assert ollama.requests[0]["messages"] == [{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": "Hello?"}]


@pytest.mark.parametrize("backend", ["cloud", "ollama"])
def test_it_ends_incomplete_when_the_model_runs_out_of_tokens(request, sdk, backend):
    fake = request.getfixturevalue(backend)
    fake.push(Reply(["Once", " upon", " a"], finish="length", usage=(4, 3)))
    model = "cloud/fake-model" if backend == "cloud" else "local/llama3.1"
    assistant = sdk.beta.assistants.create(model=model)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Tell a story."}])

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20,
                                                max_completion_tokens=256)

    assert run.status == "incomplete"
    assert run.incomplete_details.reason == "max_completion_tokens"
    assert run.usage.completion_tokens == 3 and run.completed_at is not None
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert (reply.status, reply.incomplete_details.reason, text_of(reply)) == ("incomplete", "max_tokens",
                                                                               "Once upon a")
    assert fake.requests[0].get("max_tokens", fake.requests[0].get("options", {}).get("num_predict")) == 256


def test_it_serves_the_seed_process_conversation_api(live_entities, alice, cloud):
    from conversations.services.runs import run_create
    from inference.factory import InferenceFactory
    from testsupport.factories import make_assistant, make_message, make_thread

    cloud.push(Reply(["Hel", "lo", " seed"]))
    thread = make_thread(alice.user)
    message = make_message(thread, text="Hi")
    assistant = make_assistant(alice.user, model="cloud/fake-model")
    run = run_create(thread=thread, assistant=assistant)

    chunks = list(InferenceFactory.get_inference("cloud").process_conversation(
        thread_id=thread.id, message_id=message.id, run_id=run.id, assistant_id=assistant.id, user_message="Hi"))

    assert chunks == ["Hel", "lo", " seed"]
    assert wait_until(lambda: Run.objects.get(pk=run.id).status == "completed", what="run completed")
    assert Message.objects.get(run=run).text() == "Hello seed"


def test_it_gives_the_seed_api_the_whole_reply_of_a_run_that_already_finished(live_entities, alice, cloud):
    from conversations.engine.runtime import runtime
    from conversations.services.runs import run_create
    from inference.factory import InferenceFactory
    from testsupport.factories import make_assistant, make_message, make_thread

    cloud.push(Reply(["Already", " done"]))
    thread = make_thread(alice.user)
    message = make_message(thread, text="Hi")
    assistant = make_assistant(alice.user, model="cloud/fake-model")
    run = run_create(thread=thread, assistant=assistant)
    wait_until(lambda: Run.objects.get(pk=run.id).status == "completed" and not runtime.is_local(run.id),
               what="run completed")
    runtime.streams.pop(run.id, None)  # as in another process, or after the event log was let go

    chunks = list(InferenceFactory.get_inference("cloud").process_conversation(
        thread_id=thread.id, message_id=message.id, run_id=run.id, assistant_id=assistant.id, user_message="Hi"))

    assert "".join(chunks) == "Already done"


def test_the_seed_api_answers_from_the_backend_it_was_asked_for(live_entities, alice, cloud, ollama):
    from inference.factory import InferenceFactory
    from testsupport.factories import make_assistant, make_message, make_run, make_thread

    cloud.push(Reply(["from", " the", " cloud"]))
    ollama.push(Reply(["from", " local"]))
    thread = make_thread(alice.user)
    message = make_message(thread, text="Hi")
    assistant = make_assistant(alice.user, model="cloud/fake-model")
    # Queued as the seed did it, not yet handed to the engine; the run's model names the cloud.
    run = make_run(thread, assistant, status="queued", model="cloud/fake-model")

    chunks = list(InferenceFactory.get_inference("local").process_conversation(
        thread_id=thread.id, message_id=message.id, run_id=run.id, assistant_id=assistant.id, user_message="Hi"))

    assert "".join(chunks) == "from local"
    assert [r["model"] for r in ollama.requests] == ["fake-model"]  # the run's model, without its prefix
    assert cloud.requests == []
    assert Message.objects.get(run=run).text() == "from local"
