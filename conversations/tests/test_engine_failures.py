"""A model server that errors, hangs, drops the connection, talks nonsense or is not
there: the run ends `failed` with a last_error an operator can act on — never a hang,
never a 500 — and the thread takes the next run."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, ollama, wait_for, …
from inference.factory import InferenceFactory
from testsupport.scenarios import Disconnect, Hang, HttpError, Malformed, Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODELS = {"cloud": "cloud/fake-model", "ollama": "local/llama3.1"}


@pytest.fixture(params=["cloud", "ollama"])
def backend(request):
    """(fake server, model name) for each wire protocol."""
    return request.getfixturevalue(request.param), MODELS[request.param]


def _run(sdk, model: str, text: str = "Say hello.", **options):
    assistant = sdk.beta.assistants.create(model=model)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20,
                                                **options)
    return assistant, thread, run


def _messages(sdk, thread):
    return [(m.role, m.status, text_of(m)) for m in sdk.beta.threads.messages.list(thread_id=thread.id, order="asc")]


def test_it_fails_with_the_servers_answer_on_http_500(sdk, backend):
    fake, model = backend
    fake.push(HttpError(500, '{"error": "the GPU caught fire"}'))

    _, thread, run = _run(sdk, model)

    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert "HTTP 500" in run.last_error.message and "the GPU caught fire" in run.last_error.message
    assert fake.base_url in run.last_error.message
    assert run.failed_at is not None and run.usage is not None
    assert _messages(sdk, thread) == [("user", "completed", "Say hello.")]


def test_it_reports_a_rate_limit_as_such(sdk, backend):
    fake, model = backend
    fake.push(HttpError(429, '{"error": {"message": "slow down", "type": "rate_limit"}}'))

    _, _, run = _run(sdk, model)

    assert (run.status, run.last_error.code) == ("failed", "rate_limit_exceeded")
    assert "HTTP 429" in run.last_error.message


def test_it_fails_a_reply_that_stops_coming_and_keeps_what_came(sdk, backend):
    fake, model = backend
    fake.push(Hang(after_chunks=2))
    started = time.monotonic()

    _, thread, run = _run(sdk, model)

    assert time.monotonic() - started < 8  # INFERENCE_READ_TIMEOUT is 1 s here
    assert run.status == "failed"
    assert "stopped sending for 1 s" in run.last_error.message and "INFERENCE_READ_TIMEOUT" in run.last_error.message
    assert _messages(sdk, thread) == [("user", "completed", "Say hello."), ("assistant", "incomplete", "echo: Say")]
    assert fake.wait_for_disconnect(timeout=2)


def test_it_fails_a_reply_cut_off_mid_stream_and_keeps_what_came(sdk, backend):
    fake, model = backend
    fake.push(Disconnect(after_chunks=2))

    _, thread, run = _run(sdk, model)

    assert run.status == "failed"
    assert "closed the connection mid-reply" in run.last_error.message
    assert fake.base_url in run.last_error.message
    messages = sdk.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data
    assert [(m.status, m.incomplete_details.reason, text_of(m)) for m in messages] == [
        ("incomplete", "run_failed", "echo: Say")]


def test_it_fails_on_a_malformed_chunk(sdk, backend):
    fake, model = backend
    fake.push(Malformed(after_chunks=1))

    _, _, run = _run(sdk, model)

    assert run.status == "failed"
    assert "malformed chunk" in run.last_error.message and fake.base_url in run.last_error.message


def test_it_takes_the_next_run_after_a_failure(sdk, backend):
    fake, model = backend
    fake.push(HttpError(500), Reply(["Back", " again"]))
    assistant, thread, failed = _run(sdk, model)

    again = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)

    assert (failed.status, again.status) == ("failed", "completed")
    assert _messages(sdk, thread) == [("user", "completed", "Say hello."), ("assistant", "completed", "Back again")]
    # The failed turn left nothing in the history the model sees next.
    assert [m["content"] for m in fake.requests[1]["messages"]] == ["Say hello."]


def test_it_names_the_model_and_setting_on_404(sdk, cloud):
    cloud.push(HttpError(404, '{"error": {"message": "The model `nope` does not exist"}}'))

    _, _, run = _run(sdk, "cloud/nope")

    assert run.status == "failed"
    assert "does not exist" in run.last_error.message and "OPENAI_BASE_URL" in run.last_error.message


def test_it_names_the_key_setting_on_401(sdk, cloud):
    cloud.api_key = "the-right-key"

    _, _, run = _run(sdk, "cloud/fake-model")

    assert run.status == "failed"
    assert "HTTP 401" in run.last_error.message and "OPENAI_API_KEY" in run.last_error.message


def test_it_says_which_setting_is_missing_when_cloud_has_no_key(sdk, cloud):
    with override_settings(OPENAI_API_KEY=""):
        InferenceFactory.reset()
        _, _, run = _run(sdk, "cloud/fake-model")

    assert run.status == "failed"
    assert "needs OPENAI_API_KEY" in run.last_error.message
    assert cloud.requests == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once the socket is closed


@pytest.fixture(params=["cloud", "ollama", "local-openai"])
def nothing_listening(request) -> Iterator[tuple[str, str, str]]:
    """(model, the URL nobody answers at, the setting to fix) for each backend kind."""
    url = f"http://127.0.0.1:{_closed_port()}"
    setting, model, target = {
        "cloud": ("OPENAI_BASE_URL", "cloud/fake-model", url + "/v1"),
        "ollama": ("OLLAMA_HOST", "local/llama3.1", url),
        "local-openai": ("LOCAL_OPENAI_BASE_URL", "local/qwen", url + "/v1"),
    }[request.param]
    overrides = {setting: target, "OPENAI_API_KEY": "test"}
    if request.param == "ollama":
        overrides["LOCAL_OPENAI_BASE_URL"] = ""
    with override_settings(**overrides):
        InferenceFactory.reset()
        yield model, target, setting
    InferenceFactory.reset()


def test_it_fails_at_once_with_the_url_when_no_server_answers(sdk, nothing_listening):
    model, url, setting = nothing_listening
    started = time.monotonic()

    _, _, run = _run(sdk, model)

    assert time.monotonic() - started < 5
    assert run.status == "failed"
    assert f"no model server answered at {url}" in run.last_error.message
    assert setting in run.last_error.message or "check OPENAI_BASE_URL" in run.last_error.message
