"""Pytest fixtures for the fake model servers.

Each server starts once per session (starting uvicorn costs ~0.1 s) and is `reset()`
before every test, so tests see an empty queue and empty records. Register them with
`pytest_plugins = ["testsupport.fixtures"]` or `from testsupport.fixtures import *`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.fake_ollama import FakeOllamaServer
from testsupport.fake_openai import FakeOpenAIServer

__all__ = ["fake_openai", "fake_ollama", "fake_openai_server", "fake_ollama_server"]


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_ollama_server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """A running FakeOpenAIServer with nothing queued; `.url` ends in /v1."""
    fake_openai_server.reset()
    return fake_openai_server


@pytest.fixture
def fake_ollama(fake_ollama_server: FakeOllamaServer) -> FakeOllamaServer:
    """A running FakeOllamaServer with nothing queued; `.url` is an OLLAMA_HOST."""
    fake_ollama_server.reset()
    return fake_ollama_server
