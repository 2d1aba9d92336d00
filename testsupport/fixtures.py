"""Pytest fixtures for the fake model servers, and two Entities processes that use one.

Each server starts once per session (starting uvicorn costs ~0.1 s) and is `reset()`
before every test, so tests see an empty queue and empty records. Register them with
`pytest_plugins = ["testsupport.fixtures"]` or `from testsupport.fixtures import *`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.fake_ollama import FakeOllamaServer
from testsupport.fake_openai import FakeOpenAIServer
from testsupport.processes import EntitiesProcess, entities_process_pair

__all__ = ["fake_openai", "fake_ollama", "fake_openai_server", "fake_ollama_server", "entities_processes"]


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


@pytest.fixture(scope="module")
def entities_processes(django_db_setup, django_db_blocker, fake_openai_server) -> Iterator[tuple[EntitiesProcess, ...]]:
    """Processes A and B on the test database and Redis, their cloud model the fake (skipped
    outside the PostgreSQL + Redis variant: ``entities_process_pair``)."""
    with entities_process_pair(django_db_blocker=django_db_blocker, openai_base_url=fake_openai_server.url) as pair:
        yield pair
