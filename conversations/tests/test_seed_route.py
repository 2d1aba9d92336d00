"""The seed's route, `POST /api/messages/process`, byte for byte as the Flask system spoke it.

A JWT from `POST /api/token/`, a camelCase or snake_case body, and a stream of
`data: {"run_id": …}`, `data: {"chunk": …}` …, `data: [DONE]` (or `data: [ERROR]`).
"""

from __future__ import annotations

import json

import httpx
import pytest
from django.contrib.auth import get_user_model

from conversations.models import Message, Run, Thread
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import HttpError, Reply
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture

PASSWORD = "correct horse battery staple"


@pytest.fixture
def dora(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; hashing is not under test
    return get_user_model().objects.create_user(username="dora", password=PASSWORD)


@pytest.fixture
def jwt(live_entities, dora) -> dict:
    response = httpx.post(f"{live_entities.url}/api/token/", json={"username": "dora", "password": PASSWORD})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access']}"}


def process(live, headers: dict, body) -> httpx.Response:
    return httpx.post(f"{live.url}/api/messages/process", headers=headers, json=body, timeout=20)


def seed_stream(run_id: str, chunks: list[str], end: str = "[DONE]") -> str:
    """What the seed's generate_chunks() wrote: json.dumps with its default separators."""
    return (f"data: {json.dumps({'run_id': run_id})}\n\n"
            + "".join(f"data: {json.dumps({'chunk': chunk})}\n\n" for chunk in chunks)
            + f"data: {end}\n\n")


def run_id_of(body: str) -> str:
    first = body.split("\n\n", 1)[0]
    assert first.startswith("data: ")
    return json.loads(first[len("data: "):])["run_id"]


def test_it_streams_a_cloud_reply_byte_for_byte_with_a_camel_case_body(live_entities, jwt, dora, cloud):
    cloud.push(Reply(FAKE_CHUNKS))
    response = process(live_entities, jwt, {
        "messages": [{"role": "user", "content": "Say hello"}], "userId": "dora", "model": "gpt-4o-mini",
        "inferenceType": "cloud"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-accel-buffering"] == "no"
    run_id = run_id_of(response.text)
    assert run_id.startswith("run_")
    assert response.text == seed_stream(run_id, FAKE_CHUNKS)
    run = Run.objects.get(pk=run_id)
    assert (run.owner, run.status, run.model) == (dora, "completed", "cloud/gpt-4o-mini")
    assert cloud.requests[0]["model"] == "gpt-4o-mini"
    texts = [m.content[0]["text"]["value"] for m in Message.objects.filter(thread=run.thread).order_by("created_at")]
    assert texts == ["Say hello", FAKE_TEXT]


def test_it_takes_a_snake_case_body_and_continues_the_given_thread(live_entities, jwt, dora, cloud):
    cloud.push(Reply(["One"]), Reply(["Two"]))
    first = process(live_entities, jwt, {"messages": [{"content": "first"}], "inference_type": "cloud"})
    thread_id = Run.objects.get(pk=run_id_of(first.text)).thread_id

    second = process(live_entities, jwt, {"messages": [{"content": "second"}], "thread_id": thread_id,
                                          "inference_type": "cloud", "user_id": "dora"})

    assert second.text == seed_stream(run_id_of(second.text), ["Two"])
    assert Thread.objects.filter(owner=dora).count() == 1
    texts = [m.content[0]["text"]["value"] for m in Message.objects.filter(thread_id=thread_id).order_by("created_at")]
    assert texts == ["first", "One", "second", "Two"]
    # The model saw the whole conversation on the second turn.
    assert [m["content"] for m in cloud.requests[1]["messages"] if m["role"] != "system"] == ["first", "One", "second"]


def test_it_honours_the_demo_inference_type(live_entities, jwt, cloud):
    response = process(live_entities, jwt, {"messages": [{"content": "ping"}], "inferenceType": "demo",
                                            "model": "echo"})

    run = Run.objects.get(pk=run_id_of(response.text))
    assert (run.model, run.status) == ("demo/echo", "completed")
    reply = Message.objects.get(run=run).content[0]["text"]["value"]
    chunks = [json.loads(frame[len("data: "):])["chunk"] for frame in response.text.split("\n\n")[1:-2]]
    assert len(chunks) > 3
    assert response.text == seed_stream(run.id, chunks)
    assert "".join(chunks) == reply and "You said: ping" in reply
    assert cloud.requests == []


def test_it_ends_with_error_when_the_backend_fails(live_entities, jwt, cloud):
    cloud.push(HttpError(500))
    response = process(live_entities, jwt, {"messages": [{"content": "hi"}], "inferenceType": "cloud"})

    run_id = run_id_of(response.text)
    assert response.text == seed_stream(run_id, [], end="[ERROR]")
    run = Run.objects.get(pk=run_id)
    assert run.status == "failed" and "500" in run.last_error["message"]


def test_it_ends_with_error_when_the_backend_fails_midway_keeping_what_was_said(live_entities, jwt, cloud):
    from testsupport.scenarios import Disconnect

    cloud.push(Disconnect(after_chunks=2))
    response = process(live_entities, jwt, {"messages": [{"content": "a b c d"}], "inferenceType": "cloud"})

    run_id = run_id_of(response.text)
    assert response.text == seed_stream(run_id, ["echo:", " a"], end="[ERROR]")
    assert Message.objects.get(run_id=run_id).content[0]["text"]["value"] == "echo: a"


@pytest.mark.parametrize(("body", "error"), [
    ({}, "Invalid or missing 'messages' in request"),
    ({"messages": "hello"}, "Invalid or missing 'messages' in request"),
    ({"messages": []}, "Invalid or missing 'messages' in request"),
    ({"messages": ["hello"]}, "Invalid or missing 'messages' in request"),
    ({"messages": [{"role": "user"}]}, "Message content is missing"),
    ({"messages": [{"content": ""}]}, "Message content is missing"),
    ({"messages": [{"content": "hi"}], "inferenceType": "quantum"}, "Unsupported inference type: quantum"),
    ({"messages": [{"content": "hi"}], "inference_type": "mainframe"}, "Unsupported inference type: mainframe"),
    ([{"content": "hi"}], "Invalid or missing 'messages' in request"),
])
def test_it_answers_an_invalid_body_with_a_400_json_error(live_entities, jwt, body, error):
    response = process(live_entities, jwt, body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": error}
    assert not Run.objects.exists()


def test_it_refuses_a_request_without_a_valid_token(live_entities, dora):
    body = {"messages": [{"content": "hi"}], "inferenceType": "demo"}

    assert process(live_entities, {}, body).status_code == 401
    assert process(live_entities, {"Authorization": "Bearer not.a.jwt"}, body).status_code == 401
    assert not Run.objects.exists()


def test_it_hides_another_users_thread(live_entities, jwt, bob):
    from conversations.services.threads import thread_create

    theirs = thread_create(user=bob.user)
    response = process(live_entities, jwt, {"messages": [{"content": "hi"}], "threadId": theirs.id,
                                            "inferenceType": "demo"})

    assert response.status_code == 404
    assert response.json() == {"error": f"No thread found with id '{theirs.id}'."}
    assert not Run.objects.exists()


async def test_it_sends_a_reply_it_could_only_read_from_stored_state_as_one_chunk(live_entities, jwt, cloud):
    from asgiref.sync import sync_to_async

    from conversations.seed_route import seed_chunks
    from testsupport.sse import forget_event_log

    cloud.push(Reply(FAKE_CHUNKS))
    response = await sync_to_async(process)(live_entities, jwt, {"messages": [{"content": "hi"}],
                                                                 "inferenceType": "cloud"})
    run_id = run_id_of(response.text)
    forget_event_log(live_entities, run_id)  # as in a process that neither ran nor followed it

    replayed = "".join([frame async for frame in seed_chunks(run_id)])

    assert replayed == seed_stream(run_id, [FAKE_TEXT])
