"""The WebSocket surface against hostile frames and stale credentials (issue 14, items 5–7).

A real client (`websockets`) over TCP to a live server. Frames that used to close the
socket with 1011 get an error frame and the socket stays open; credentials are checked
again while the socket is open, and a socket whose key, user, token or session is no
longer good is closed with 4401 before it acts on another frame.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from assistants.models import ApiKey
from assistants.services import assistant_create
from conversations.models import Message, Thread
from conversations.services.threads import thread_create, thread_delete
from testsupport.ws import collect, is_type, websocket_receive

CACHE_SECONDS = 0.5


@pytest.fixture
def short_cache(settings):
    """Credentials are re-checked every ENTITIES_API_KEY_CACHE_SECONDS: keep the tests short."""
    settings.ENTITIES_API_KEY_CACHE_SECONDS = CACHE_SECONDS
    return CACHE_SECONDS


async def _open(live, thread_id: str, token: str | None = None, **kwargs):
    query = f"?token={token}" if token else ""
    websocket = await connect(f"{live.ws_url}/ws/threads/{thread_id}/{query}", open_timeout=5, **kwargs)
    await collect(websocket_receive(websocket), is_type("ready"))
    return websocket


async def _answer(websocket, frame: str) -> dict:
    await websocket.send(frame)
    async with asyncio.timeout(10):
        return json.loads(await websocket.recv())


async def _still_open(websocket) -> None:
    assert await _answer(websocket, '{"type": "ping"}') == {"type": "pong"}


async def _thread(person) -> Thread:
    return await sync_to_async(thread_create)(user=person.user)


# -- item 7: frames that used to kill the socket ------------------------------------------
@pytest.mark.parametrize("frame", [
    '{"type": ["send"]}',
    '{"type": {"a": 1}}',
    '{"type": 7}',
    "[" * 50_000 + "]" * 50_000,
    '{"type": "send", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "{not json",
    '"a string"',
])
async def test_a_malformed_frame_gets_an_error_frame_and_the_socket_stays_open(live_entities, alice, frame):
    websocket = await _open(live_entities, (await _thread(alice)).id, alice.api_key)
    answer = await _answer(websocket, frame)
    assert answer["type"] == "error", answer
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["code"] != "server_error"
    await _still_open(websocket)
    await websocket.close()


async def test_a_send_after_the_thread_was_deleted_answers_not_found(live_entities, alice):
    thread = await _thread(alice)
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    websocket = await _open(live_entities, thread.id, alice.api_key)
    await sync_to_async(thread_delete)(thread=thread)
    answer = await _answer(websocket, json.dumps({"type": "send", "assistant_id": echo.id, "content": "hello?"}))
    assert answer["type"] == "error" and answer["error"]["code"] == "not_found", answer
    assert await sync_to_async(Message.objects.filter(thread_id=thread.id).count)() == 0
    await websocket.close()


# -- item 6: lone surrogates --------------------------------------------------------------
@pytest.mark.parametrize("frame", [
    '{"type": "send", "assistant_id": "%s", "content": "hi \\ud800"}',
    '{"type": "send", "assistant_id": "%s", "content": "fine", "model": "\\udfff"}',
    '{"type": "send\\udfff", "assistant_id": "%s"}',
])
async def test_a_lone_surrogate_in_a_frame_is_refused_before_anything_is_stored(live_entities, alice, frame):
    thread = await _thread(alice)
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    websocket = await _open(live_entities, thread.id, alice.api_key)
    answer = await _answer(websocket, frame % echo.id)
    assert answer["type"] == "error" and answer["error"]["code"] == "invalid_unicode", answer
    await _still_open(websocket)
    await websocket.close()
    assert await sync_to_async(Message.objects.filter(thread_id=thread.id).count)() == 0


# -- item 5: credentials that stop being good while the socket is open ----------------------
async def _closed_with(websocket, code: int, within: float) -> None:
    """The server closes the socket with ``code`` within ``within`` seconds, unprompted."""
    async with asyncio.timeout(within):
        with pytest.raises(ConnectionClosed):
            while True:
                await websocket.recv()
    assert websocket.close_code == code


async def _send_is_refused(live, person, thread, websocket, assistant_id: str) -> None:
    """A `send` right after the change is not acted on: no message, the socket closes 4401."""
    try:
        await websocket.send(json.dumps({"type": "send", "assistant_id": assistant_id, "content": "still here?"}))
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await websocket.recv())
                assert frame.get("type") not in ("accepted", "event"), frame
    except ConnectionClosed:
        pass
    assert websocket.close_code == 4401
    assert await sync_to_async(Message.objects.filter(thread_id=thread.id).count)() == 0


def _revoke_elsewhere(raw_key: str) -> None:
    """Revoke as another process would: a database write, no cache of this process dropped."""
    prefix = raw_key[len("ent-"):].split("-", 1)[0]
    assert ApiKey.objects.filter(prefix=prefix).update(revoked_at=timezone.now()) == 1


async def test_a_revoked_api_key_closes_the_open_socket(live_entities, alice, short_cache):
    thread = await _thread(alice)
    websocket = await _open(live_entities, thread.id, alice.api_key)
    await _still_open(websocket)
    await sync_to_async(_revoke_elsewhere)(alice.api_key)
    await _closed_with(websocket, 4401, within=2 * short_cache + 3)


async def test_a_revoked_api_key_cannot_send_on_the_open_socket(live_entities, alice, short_cache):
    thread = await _thread(alice)
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    websocket = await _open(live_entities, thread.id, alice.api_key)
    await sync_to_async(_revoke_elsewhere)(alice.api_key)
    await asyncio.sleep(short_cache * 1.5)  # past the interval: the next frame must be checked first
    await _send_is_refused(live_entities, alice, thread, websocket, echo.id)


async def test_a_deactivated_user_is_closed_on_every_kind_of_credential(live_entities, alice, short_cache):
    from rest_framework_simplejwt.tokens import AccessToken

    thread = await _thread(alice)
    jwt = str(await sync_to_async(AccessToken.for_user)(alice.user))
    by_key = await _open(live_entities, thread.id, alice.api_key)
    by_jwt = await _open(live_entities, thread.id, jwt)
    await sync_to_async(get_user_model().objects.filter(pk=alice.user.pk).update)(is_active=False)
    await asyncio.gather(_closed_with(by_key, 4401, within=2 * short_cache + 3),
                         _closed_with(by_jwt, 4401, within=2 * short_cache + 3))


async def test_an_expired_jwt_closes_the_open_socket(live_entities, alice, short_cache):
    from rest_framework_simplejwt.tokens import AccessToken

    thread = await _thread(alice)
    token = await sync_to_async(AccessToken.for_user)(alice.user)
    token.set_exp(lifetime=timedelta(seconds=2))
    websocket = await _open(live_entities, thread.id, str(token))
    await _still_open(websocket)
    await _closed_with(websocket, 4401, within=2 + 2 * short_cache + 3)


async def test_an_expired_jwt_cannot_send_even_inside_the_interval(live_entities, alice, settings):
    """The token's own expiry is checked on every frame, not only every interval."""
    from rest_framework_simplejwt.tokens import AccessToken

    settings.ENTITIES_API_KEY_CACHE_SECONDS = 60
    thread = await _thread(alice)
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    token = await sync_to_async(AccessToken.for_user)(alice.user)
    token.set_exp(lifetime=timedelta(seconds=2))
    websocket = await _open(live_entities, thread.id, str(token))
    await asyncio.sleep(2.5)
    await _send_is_refused(live_entities, alice, thread, websocket, echo.id)


async def test_a_signed_out_session_closes_the_browser_socket(live_entities, alice, short_cache):
    thread = await _thread(alice)
    browser = Client()
    await sync_to_async(browser.force_login)(alice.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    websocket = await _open(live_entities, thread.id, additional_headers={
        "Cookie": cookie, "Origin": live_entities.url})
    await _still_open(websocket)
    await sync_to_async(browser.logout)()  # deletes the session, as signing out in another tab does
    await _closed_with(websocket, 4401, within=2 * short_cache + 3)


async def test_good_credentials_keep_the_socket_open_past_many_intervals(live_entities, alice, short_cache):
    websocket = await _open(live_entities, (await _thread(alice)).id, alice.api_key)
    await asyncio.sleep(short_cache * 4)
    await _still_open(websocket)
    await websocket.close()
