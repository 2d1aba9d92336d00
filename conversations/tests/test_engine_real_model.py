"""A real model, end to end: the openai SDK → Entities → a real model server.

SmolLM2-135M runs in its own process (testsupport/real_model_server.py, llama.cpp on
the CPU) behind an OpenAI-compatible endpoint; Entities' `local` backend points at it
through LOCAL_OPENAI_BASE_URL. Installed by scripts/install_real_model.py; without it
these tests skip locally and fail in CI (ENTITIES_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from django.test import override_settings

from conversations.tests.engine_support import *  # noqa: F401,F403 — wait_for, text_of, …
from inference.factory import InferenceFactory
from testsupport import real_model_server
from testsupport.live import free_port
from testsupport.processes import ServerProcess
from testsupport.requirements import require

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = f"local/{real_model_server.MODEL_ID}"
CONCISE = "You are a concise assistant. Answer in one short sentence."


@pytest.fixture(scope="module")
def model_server() -> Iterator[ServerProcess]:
    usable, why = real_model_server.available()
    require(usable, why)
    port = free_port()
    server = ServerProcess([sys.executable, "-m", "testsupport.real_model_server", "--port", str(port)],
                           port=port, start_timeout=60)
    with server:
        yield server


@pytest.fixture
def real_local(model_server) -> Iterator[ServerProcess]:
    with override_settings(LOCAL_OPENAI_BASE_URL=model_server.v1, INFERENCE_READ_TIMEOUT=60):
        InferenceFactory.reset()
        yield model_server
    InferenceFactory.reset()


def test_it_answers_with_a_real_model(live_entities, sdk, real_local):
    assistant = sdk.beta.assistants.create(model=MODEL, instructions=CONCISE)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "What is the capital of France?"}])

    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
                                                timeout=120)

    assert run.status == "completed", run.last_error
    assert run.usage.prompt_tokens > 10 and run.usage.completion_tokens > 0
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    reply = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert len(reply) == 1 and reply[0].role == "assistant" and reply[0].status == "completed"
    assert "paris" in text_of(reply[0]).lower()
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [(s.type, s.status, s.step_details.message_creation.message_id) for s in steps] == [
        ("message_creation", "completed", reply[0].id)]


def test_it_streams_a_real_model_reply_token_by_token(live_entities, sdk, real_local):
    assistant = sdk.beta.assistants.create(model=MODEL, instructions=CONCISE)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Name one colour."}])

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id,
                                      max_completion_tokens=256) as stream:
        deltas = list(stream.text_deltas)
        final = stream.get_final_run()

    assert final.status == "completed", final.last_error
    assert len(deltas) > 1 and "".join(deltas).strip()
    assert final.usage.completion_tokens == len([d for d in deltas if d])
    stored = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=final.id).data[0]
    assert text_of(stored) == "".join(deltas)


def test_it_keeps_the_conversation_for_the_next_turn(live_entities, sdk, real_local):
    assistant = sdk.beta.assistants.create(model=MODEL, instructions=CONCISE)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "What is the capital of France?"}])
    first = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                  poll_interval_ms=50, timeout=120)
    sdk.beta.threads.messages.create(thread.id, role="user", content="And of Italy?")

    second = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                   poll_interval_ms=50, timeout=120)

    assert (first.status, second.status) == ("completed", "completed")
    # The second prompt carries the whole history, so it is longer than the first.
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + first.usage.completion_tokens
    messages = sdk.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert all(text_of(m).strip() for m in messages)
