"""What the engine tests share: backends pointed at the fake model servers, waiting on runs.

    from conversations.tests.engine_support import *  # fixtures: cloud, ollama, fake_openai, …

`cloud` routes `cloud/<name>` models to the fake OpenAI server, `ollama` routes
`local/<name>` to the fake Ollama server. Settings are process-wide, so the live
server's thread sees them; the factory is reset so it reads them afresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.test import override_settings

from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai, fake_ollama

__all__ = ["cloud", "ollama", "fake_openai", "fake_ollama", "fake_openai_server", "fake_ollama_server",
           "wait_for", "wait_until", "TERMINAL", "WEATHER_TOOL", "function_tool", "text_of"]

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}
# Short enough that a hung fake fails a run quickly, long enough for a slow CI machine.
TEST_READ_TIMEOUT = 1.0


def function_tool(name: str, **properties: str) -> dict:
    """A function tool whose parameters are string properties."""
    return {"type": "function", "function": {
        "name": name, "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": {p: {"type": t} for p, t in properties.items()}}}}


WEATHER_TOOL = function_tool("get_weather", city="string")


@pytest.fixture
def cloud(fake_openai) -> Iterator:
    """`cloud/<name>` models go to the fake OpenAI server (returned)."""
    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="test",
                           INFERENCE_READ_TIMEOUT=TEST_READ_TIMEOUT):
        InferenceFactory.reset()
        yield fake_openai
    InferenceFactory.reset()


@pytest.fixture
def ollama(fake_ollama) -> Iterator:
    """`local/<name>` models go to the fake Ollama server (returned)."""
    with override_settings(OLLAMA_HOST=fake_ollama.url, LOCAL_OPENAI_BASE_URL="",
                           INFERENCE_READ_TIMEOUT=TEST_READ_TIMEOUT):
        InferenceFactory.reset()
        yield fake_ollama
    InferenceFactory.reset()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Call ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        time.sleep(interval)


def wait_for(client, run, statuses, timeout: float = 10.0):
    """Poll ``run`` through the SDK until its status is in ``statuses``."""
    last = {}

    def poll():
        last["run"] = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
        return last["run"] if last["run"].status in statuses else None

    try:
        return wait_until(poll, timeout, 0.02)
    except AssertionError:
        raise AssertionError(f"run {run.id} still {last['run'].status} after {timeout} s "
                             f"(last_error={last['run'].last_error})") from None


def text_of(message) -> str:
    """The text of an SDK Message."""
    return "".join(part.text.value for part in message.content if part.type == "text")
