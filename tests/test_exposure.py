"""What an anonymous caller can learn or make the server do (issue 14, item 9), from outside.

`/healthz` tells anyone only whether things work; backend URLs and whether a cloud key
is set go to staff, and probing the backends is cached so a caller cannot make the
server dial out per request. `/metrics` needs the token, or a loopback client, when
DEBUG is off. A browser's WebSocket Origin must be this site: scheme, host and port.
"""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from assistants.keys import api_key_create, user_get_or_create
from conversations.services.threads import thread_create
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.sse import cloud  # noqa: F401 - a fixture


@pytest.fixture
def staff_key(db) -> str:
    user, _ = user_get_or_create(username="operator", is_staff=True)
    user.is_staff = True
    user.save()
    return api_key_create(user=user, name="ops").raw


def test_anonymous_health_with_backends_says_only_whether_each_works(live_entities, cloud):
    response = httpx.get(f"{live_entities.url}/healthz?backends=1", timeout=15)
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == {"ok": True} and body["channel_layer"] == {"ok": True}
    assert body["backends"]["demo"] == {"ok": True}
    assert body["backends"]["cloud"] == {"ok": True}
    for secret in (cloud.url, "127.0.0.1", "api_key_set", "url", "sqlite", "InMemory"):
        assert secret not in response.text, secret


def test_anonymous_health_checks_do_not_make_an_outbound_call_each(live_entities, cloud):
    for _ in range(6):
        assert httpx.get(f"{live_entities.url}/healthz?backends=1", timeout=15).status_code == 200
    probes = [r for r in cloud.log if r.path.endswith("/models")]
    assert len(probes) <= 1, probes


def test_staff_see_the_details(live_entities, cloud, staff_key, alice):
    staff = httpx.get(f"{live_entities.url}/healthz?backends=1", timeout=15,
                      headers={"Authorization": f"Bearer {staff_key}"}).json()
    assert staff["backends"]["cloud"]["url"] == cloud.url and staff["backends"]["cloud"]["api_key_set"] is True
    assert "vendor" in staff["database"] and "backend" in staff["channel_layer"]
    # An ordinary user's key is not staff.
    user = httpx.get(f"{live_entities.url}/healthz?backends=1", timeout=15, headers=alice.headers)
    assert "url" not in user.text


def test_metrics_are_for_loopback_clients_only_without_a_token(live_entities, settings):
    assert settings.DEBUG is False and not settings.ENTITIES_METRICS_TOKEN
    assert httpx.get(f"{live_entities.url}/metrics", timeout=5).status_code == 200  # we are loopback
    # Through a proxy on this host the connection is loopback, the client is not.
    proxied = httpx.get(f"{live_entities.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5)
    assert proxied.status_code == 403 and "entities_" not in proxied.text


def test_metrics_from_another_address_are_refused(db, settings):
    from django.test import Client

    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    settings.DEBUG = True  # a development server shows them to anyone
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 200


def test_metrics_need_the_token_once_one_is_set(live_entities, settings):
    settings.ENTITIES_METRICS_TOKEN = "scrape-me-0123456789"
    assert httpx.get(f"{live_entities.url}/metrics", timeout=5).status_code == 403
    assert httpx.get(f"{live_entities.url}/metrics?token=wrong", timeout=5).status_code == 403
    ok = httpx.get(f"{live_entities.url}/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}, timeout=5)
    assert ok.status_code == 200 and "entities_" in ok.text


async def _origin_status(live, thread_id: str, token: str, origin: str) -> int:
    try:
        websocket = await connect(f"{live.ws_url}/ws/threads/{thread_id}/?token={token}", open_timeout=5,
                                  additional_headers={"Origin": origin})
    except InvalidStatus as refused:
        return refused.response.status_code
    await websocket.close()
    return 101


async def test_the_websocket_origin_must_match_scheme_host_and_port(live_entities, alice, settings):
    from asgiref.sync import sync_to_async

    thread = await sync_to_async(thread_create)(user=alice.user)
    port = live_entities.port
    assert await _origin_status(live_entities, thread.id, alice.api_key, f"http://127.0.0.1:{port}") == 101
    for origin in ("http://127.0.0.1:9999", f"https://127.0.0.1:{port}", "http://127.0.0.1",
                   f"http://localhost:{port}", f"http://127.0.0.1.evil.example:{port}", "null", "file://"):
        assert await _origin_status(live_entities, thread.id, alice.api_key, origin) == 403, origin
    # An origin the operator trusts explicitly (a UI served from another port) is let in.
    settings.CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:9999"]
    assert await _origin_status(live_entities, thread.id, alice.api_key, "http://127.0.0.1:9999") == 101
