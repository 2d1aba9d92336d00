"""`/healthz` reports the database and the channel layer."""

from __future__ import annotations

import httpx


def test_it_reports_ok_when_database_and_layer_work(live_entities):
    response = httpx.get(live_entities.url + "/healthz", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["channel_layer"]["ok"] is True


def test_it_reports_backends_on_request(live_entities):
    body = httpx.get(live_entities.url + "/healthz?backends=1", timeout=15).json()
    assert body["backends"]["demo"]["ok"] is True


def test_it_answers_503_when_the_database_is_unusable(live_entities, monkeypatch):
    from entities_project import health

    def broken():
        raise RuntimeError("database is gone")

    monkeypatch.setattr(health, "_check_database", broken)
    response = httpx.get(live_entities.url + "/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "RuntimeError: database is gone"}


def test_metrics_are_exported_in_prometheus_text(live_entities):
    response = httpx.get(live_entities.url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert "entities_overhead_seconds_bucket" in response.text
