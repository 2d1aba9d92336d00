"""Retrieval tests: the ingestion workers of this process stop before and after each test.

After, because they hold DB connections; before, because a test of another app that ran
earlier in the process may have started them, and a test that sets ENTITIES_INGEST_WORKERS=0
drives ingestion itself (a leftover worker would claim its files)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _stop_ingest_workers():
    from retrieval.worker import workers

    workers.stop(timeout=30)
    yield
    workers.stop(timeout=30)


@pytest.fixture
def fast_polling(monkeypatch):
    """Workers look for work often, so tests that wait for ingestion wait little."""
    monkeypatch.setenv("ENTITIES_INGEST_POLL_SECONDS", "0.1")
