"""Two real Entities processes sharing PostgreSQL and Redis: one runs, the other watches and stops.

A run started through process A is executed by A's engine. Process B has no event log for
it, so its SSE resume GET and its WebSocket follow A over the Redis channel layer, and a
cancel sent to B reaches A through the run's control group.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from conversations.models import Message, Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai, entities_processes
from testsupport.scenarios import Reply, words
from testsupport.sse import parse_sse
from testsupport.users import make_person
from testsupport.ws import collect, event_names, is_done, is_type, nth_delta, seqs, text_of, websocket_receive

# Slow: two server processes start (a few seconds) before the first test.
pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORDS = words("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa")


@pytest.fixture
def setup(entities_processes, fake_openai):
    """alice, her cloud assistant and a thread, made through process A."""
    a, _ = entities_processes
    alice = make_person("alice")
    assistant = httpx.post(f"{a.v1}/assistants", headers=alice.headers, json={"model": "cloud/x"}).json()
    thread = httpx.post(f"{a.v1}/threads", headers=alice.headers,
                        json={"messages": [{"role": "user", "content": "Spell it"}]}).json()
    return alice, assistant["id"], thread["id"]


def start_run(process, person, thread_id: str, assistant_id: str) -> dict:
    response = httpx.post(f"{process.v1}/threads/{thread_id}/runs", headers=person.headers,
                          json={"assistant_id": assistant_id})
    assert response.status_code == 200, response.text
    return response.json()


async def watch_sse(process, person, thread_id: str, run_id: str, first_event: asyncio.Event | None = None) -> list:
    """The run's SSE resume stream from ``process``, whole; ``first_event`` is set when its first frame arrives."""
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("GET", f"{process.v1}/threads/{thread_id}/runs/{run_id}/events",
                                 headers=person.headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            text = ""
            async for piece in response.aiter_text():
                text += piece
                if first_event is not None and "\n\n" in text:
                    first_event.set()
    return parse_sse(text)


def sse_text(events) -> str:
    return "".join(p["text"]["value"] for e in events if e.event == "thread.message.delta"
                   for p in e.json()["delta"]["content"])


async def test_it_streams_a_run_executed_by_one_process_to_watchers_on_another(entities_processes, setup, fake_openai):
    a, b = entities_processes
    alice, assistant_id, thread_id = setup
    fake_openai.push(Reply(WORDS, delay=0.04))
    run = start_run(a, alice, thread_id, assistant_id)

    async def over_websocket():
        async with connect(f"{b.url.replace('http', 'ws')}/ws/threads/{thread_id}/?token={alice.api_key}") as ws:
            receive = websocket_receive(ws)
            await collect(receive, is_type("ready"))
            await ws.send(json.dumps({"type": "subscribe", "run_id": run["id"], "after_seq": 0}))
            return await collect(receive, is_done(run["id"]), timeout=30)

    sse, frames = await asyncio.gather(watch_sse(b, alice, thread_id, run["id"]), over_websocket())

    stored = await sync_to_async(Run.objects.get)(pk=run["id"])
    assert stored.status == "completed", (stored.status, stored.last_error)
    reply = await sync_to_async(Message.objects.get)(run_id=run["id"])
    assert stored.lease_owner == ""  # released by A when it finished
    text = reply.content[0]["text"]["value"]
    assert text == "".join(WORDS)
    # Both watchers on B got every event exactly once, in order, as A numbered them.
    assert [int(e.id) for e in sse[:-1]] == list(range(1, stored.event_seq + 1))
    assert [e.event for e in sse][-2:] == ["thread.run.completed", "done"]
    assert sse_text(sse) == text
    assert seqs(frames) == list(range(1, stored.event_seq + 1))
    assert event_names(frames)[-1] == "thread.run.completed"
    assert text_of(frames) == text


async def test_it_cancels_through_another_process_what_one_process_runs(entities_processes, setup, fake_openai):
    a, b = entities_processes
    alice, assistant_id, thread_id = setup
    fake_openai.push(Reply(WORDS, delay=0.15))
    run = start_run(a, alice, thread_id, assistant_id)

    async with connect(f"{b.url.replace('http', 'ws')}/ws/threads/{thread_id}/?token={alice.api_key}") as ws:
        receive = websocket_receive(ws)
        await collect(receive, is_type("ready"))
        await ws.send(json.dumps({"type": "subscribe", "run_id": run["id"], "after_seq": 0}))
        before = await collect(receive, nth_delta(2), timeout=30)
        sse_started = asyncio.Event()
        sse_task = asyncio.ensure_future(watch_sse(b, alice, thread_id, run["id"], sse_started))
        # Cancel only once B's SSE watcher follows the live run (else it may see only the ending).
        await asyncio.wait_for(sse_started.wait(), 30)
        async with httpx.AsyncClient() as client:
            cancelled = await client.post(f"{b.v1}/threads/{thread_id}/runs/{run['id']}/cancel", headers=alice.headers)
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelling")
        after = await collect(receive, is_done(run["id"]), timeout=30)
    sse = await asyncio.wait_for(sse_task, 30)

    stored = await sync_to_async(Run.objects.get)(pk=run["id"])
    assert (stored.status, stored.last_error) == ("cancelled", None)
    assert stored.cancelled_at is not None
    reply = await sync_to_async(Message.objects.get)(run_id=run["id"])
    # A, the owner, stopped the model in mid-reply: the partial text is kept and was streamed.
    assert reply.status == "incomplete"
    assert 0 < len(reply.content[0]["text"]["value"]) < len("".join(WORDS))
    assert text_of(before + after) == reply.content[0]["text"]["value"]
    assert seqs(before + after) == list(range(1, stored.event_seq + 1))
    assert event_names(before + after)[-1] == "thread.run.cancelled"
    assert "thread.run.cancelling" in event_names(after)
    assert [e.event for e in sse][-2:] == ["thread.run.cancelled", "done"]
    assert [int(e.id) for e in sse[:-1]] == list(range(1, stored.event_seq + 1))
    assert await fake_openai.await_disconnect(timeout=5)  # A hung up on the model server


async def test_it_keeps_a_quiet_websocket_open_on_the_redis_layer(entities_processes, setup):
    _, b = entities_processes
    alice, _, thread_id = setup
    async with connect(f"{b.url.replace('http', 'ws')}/ws/threads/{thread_id}/?token={alice.api_key}") as ws:
        receive = websocket_receive(ws)
        await collect(receive, is_type("ready"))
        for _ in range(4):  # two idle waits (5 s) of a channel-layer receive, and more
            await asyncio.sleep(3)
            await ws.send('{"type": "ping"}')
            assert await collect(receive, is_type("pong"), timeout=5) == [{"type": "pong"}]
