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
    assert body["backends"]["demo"] == {"ok": True}  # details only for staff: tests/test_exposure.py


def test_it_answers_503_when_the_database_is_unusable(live_entities, monkeypatch):
    from assistants.keys import api_key_create, user_get_or_create

    staff_key = api_key_create(user=user_get_or_create(username="ops", is_staff=True)[0]).raw
    from entities_project import health

    def broken():
        raise RuntimeError("database is gone")

    monkeypatch.setattr(health, "_check_database", broken)
    response = httpx.get(live_entities.url + "/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False}  # the error text is for staff only
    staff = httpx.get(live_entities.url + "/healthz", timeout=5, headers={"Authorization": f"Bearer {staff_key}"})
    assert staff.json()["database"] == {"ok": False, "error": "RuntimeError: database is gone"}


def test_metrics_are_exported_in_prometheus_text(live_entities):
    response = httpx.get(live_entities.url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert "entities_overhead_seconds_bucket" in response.text
