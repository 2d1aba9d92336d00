"""Hostile REST bodies against a live server (issue 14, items 6 and 8), over raw HTTP.

A lone surrogate (``\\udfff``) is valid JSON text but not Unicode: it is refused with a 400
in the envelope before anything is stored, on every write surface; a row that already
holds one (stored by an older version) no longer makes a list answer 500. JSON nested far
deeper than any request needs is a 400 ``invalid_json``, and a JSON body labelled as
multipart gets the envelope too.
"""

from __future__ import annotations

import json

import httpx
import pytest
from django.db import DataError, connection, transaction

from assistants.models import Assistant
from assistants.services import assistant_create
from conversations.models import Message, Thread
from conversations.services.threads import thread_create

LONE = "\\udfff"  # the JSON escape, sent as text: json.dumps would refuse nothing, so bodies are raw
HIGH = "\\ud800"


def _post(live, person, path: str, raw: str, **headers) -> httpx.Response:
    return httpx.post(f"{live.url}{path}", content=raw.encode(),
                      headers={**person.headers, "Content-Type": "application/json", **headers}, timeout=30)


def _assert_envelope(response: httpx.Response, status: int = 400, code: str | None = None) -> dict:
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code:
        assert error["code"] == code, error
    return error


@pytest.mark.parametrize("path, raw", [
    ("/v1/threads", '{"metadata": {"k": "%s"}}' % LONE),
    ("/v1/threads", '{"metadata": {"%s": "v"}}' % HIGH),
    ("/v1/threads", '{"messages": [{"role": "user", "content": "hi %s"}]}' % HIGH),
    ("/v1/assistants", '{"model": "demo/echo", "name": "a%s"}' % HIGH),
    ("/v1/assistants", '{"model": "demo/echo", "instructions": "%s"}' % LONE),
])
def test_a_lone_surrogate_is_refused_before_anything_is_stored(live_entities, alice, path, raw):
    threads, assistants = Thread.objects.count(), Assistant.objects.count()
    error = _assert_envelope(_post(live_entities, alice, path, raw), code="invalid_unicode")
    assert "surrogate" in error["message"]
    assert (Thread.objects.count(), Assistant.objects.count()) == (threads, assistants)


def test_a_lone_surrogate_in_a_message_title_or_metadata_update_is_refused(live_entities, alice):
    thread = thread_create(user=alice.user)
    base = f"/v1/threads/{thread.id}"
    _assert_envelope(_post(live_entities, alice, f"{base}/messages", '{"role":"user","content":"%s"}' % HIGH),
                     code="invalid_unicode")
    _assert_envelope(_post(live_entities, alice, base, '{"title":"t%s"}' % HIGH), code="invalid_unicode")
    _assert_envelope(_post(live_entities, alice, base, '{"metadata":{"k":"%s"}}' % LONE), code="invalid_unicode")
    assert Message.objects.filter(thread=thread).count() == 0
    thread.refresh_from_db()
    assert thread.title == "" and thread.metadata == {}


def test_the_seed_route_refuses_a_lone_surrogate(live_entities, alice):
    response = _post(live_entities, alice, "/api/messages/process",
                     '{"messages": [{"role": "user", "content": "x%s"}]}' % HIGH)
    _assert_envelope(response, code="invalid_unicode")
    assert Message.objects.count() == 0


def _store_raw(table: str, column: str, pk: str, raw_json: str) -> None:
    """Write ``raw_json`` into a JSON column past every check, as an older version did."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [raw_json, pk])


def test_rows_already_holding_a_lone_surrogate_do_not_break_the_lists(live_entities, alice):
    thread = thread_create(user=alice.user)
    assistant = assistant_create(user=alice.user, model="demo/echo")
    message = Message.objects.create(thread=thread, owner=alice.user, role="user", content=[
        {"type": "text", "text": {"value": "fine", "annotations": []}}])
    bad = '{"k": "\\udfff"}'
    if connection.vendor != "sqlite":
        # PostgreSQL's jsonb cannot hold one at all, so no such row exists there.
        with pytest.raises(DataError), transaction.atomic():
            _store_raw("conversations_thread", "metadata", thread.id, bad)
        return
    _store_raw("conversations_thread", "metadata", thread.id, bad)
    _store_raw("assistants_assistant", "metadata", assistant.id, bad)
    _store_raw("conversations_message", "metadata", message.id, bad)
    _store_raw("conversations_message", "content",  message.id,
               '[{"type": "text", "text": {"value": "a\\ud800b", "annotations": []}}]')
    for path in ("/v1/threads", "/v1/assistants", f"/v1/threads/{thread.id}/messages",
                 f"/v1/threads/{thread.id}", f"/v1/assistants/{assistant.id}"):
        response = httpx.get(f"{live_entities.url}{path}", headers=alice.headers, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        text = response.content.decode("utf-8")  # strict: valid UTF-8 all the way
        assert "\ufffd" in text, path  # the bad character shows as U+FFFD, the rest as stored
    listed = httpx.get(f"{live_entities.url}/v1/threads/{thread.id}/messages", headers=alice.headers, timeout=30).json()
    assert listed["data"][0]["content"][0]["text"]["value"] == "a\ufffdb"


def _nested(depth: int) -> str:
    return '{"metadata": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("path", ["/v1/threads", "/api/messages/process", "/v1/assistants"])
def test_json_nested_100000_deep_is_invalid_json(live_entities, alice, path):
    _assert_envelope(_post(live_entities, alice, path, _nested(100_000)), code="invalid_json")
    assert Thread.objects.count() == 0


def test_json_nested_deeper_than_any_request_needs_is_invalid_json(live_entities, alice):
    error = _assert_envelope(_post(live_entities, alice, "/v1/threads", _nested(500)), code="invalid_json")
    assert "nested" in error["message"]
    # Ordinary depth still reaches validation (which then names the field).
    _assert_envelope(_post(live_entities, alice, "/v1/threads", _nested(3)), code="invalid_type")


def test_a_json_body_labelled_multipart_gets_the_envelope(live_entities, alice):
    response = _post(live_entities, alice, "/v1/threads", json.dumps({"metadata": {}}),
                     **{"Content-Type": "multipart/form-data; boundary=zzz"})
    _assert_envelope(response)
    response = _post(live_entities, alice, "/api/messages/process", json.dumps({"messages": []}),
                     **{"Content-Type": "multipart/form-data; boundary=zzz"})
    _assert_envelope(response)
    response = _post(live_entities, alice, "/v1/threads", "--zzz\r\n", **{"Content-Type": "multipart/form-data"})
    _assert_envelope(response)
    # The route that does parse multipart (uploads) answers a JSON body in the envelope too.
    for content_type in ("multipart/form-data; boundary=zzz", "multipart/form-data"):
        response = _post(live_entities, alice, "/v1/files", json.dumps({"purpose": "assistants"}),
                         **{"Content-Type": content_type})
        _assert_envelope(response)


def test_a_proper_surrogate_pair_is_fine(live_entities, alice):
    """U+1F600 as a surrogate pair escape is one character, and is stored."""
    response = _post(live_entities, alice, "/v1/threads", '{"metadata": {"k": "\\ud83d\\ude00"}}')
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"k": "\U0001F600"}
