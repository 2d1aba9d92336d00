"""Fixtures for the inference tests: the fake model servers and backends pointed at them.

No test here touches the database or the internet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from django.test import override_settings

from inference.backends.clients import aclose_loop_clients
from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai, fake_ollama

# Small enough that a hung server fails a test in well under a second.
TEST_READ_TIMEOUT = 0.3


@pytest.fixture(autouse=True)
def fresh_factory() -> Iterator[None]:
    InferenceFactory.reset()
    yield
    InferenceFactory.reset()


@pytest.fixture(autouse=True)
async def closed_clients() -> AsyncIterator[None]:
    # Each test has its own event loop; close the clients it opened before it goes.
    yield
    await aclose_loop_clients()


@pytest.fixture
def ollama_settings(fake_ollama) -> Iterator[None]:
    with override_settings(OLLAMA_HOST=fake_ollama.url, LOCAL_OPENAI_BASE_URL="", INFERENCE_READ_TIMEOUT=TEST_READ_TIMEOUT):
        yield


@pytest.fixture
def cloud_settings(fake_openai) -> Iterator[None]:
    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="sk-test", INFERENCE_READ_TIMEOUT=TEST_READ_TIMEOUT):
        yield
