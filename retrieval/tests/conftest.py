"""Retrieval tests: the ingestion workers of this process stop after each test (they hold DB connections)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _stop_ingest_workers():
    yield
    from retrieval.worker import workers

    workers.stop(timeout=30)


@pytest.fixture
def fast_polling(monkeypatch):
    """Workers look for work often, so tests that wait for ingestion wait little."""
    monkeypatch.setenv("ENTITIES_INGEST_POLL_SECONDS", "0.1")
