"""A thinking model's reasoning on the Assistants side: stored apart, never in the message.

The Assistants stream has no reasoning event, so its SSE stays exactly as for any model;
the WebSocket (Entities' own protocol, the chat page) relays `thread.reasoning.delta`.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from conversations.models import Message
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.live import sdk_for
from testsupport.scenarios import Reply
from testsupport.sse import cloud, forget_event_log, names, parse_sse  # noqa: F401 - cloud is a fixture
from testsupport.ws import collect, events, is_done, is_type, websocket_receive

THOUGHTS = ["The user wants ", "a greeting."]
ANSWER = ["Hello", " there."]
TEXT_REPLY_ORDER = [
    "thread.run.created", "thread.run.queued", "thread.run.in_progress",
    "thread.run.step.created", "thread.run.step.in_progress",
    "thread.message.created", "thread.message.in_progress",
    *["thread.message.delta"] * len(ANSWER),
    "thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done",
]


@pytest.fixture
def client(live_entities, alice, cloud):
    with sdk_for(live_entities, alice) as client:
        yield client


@pytest.fixture
def assistant_id(client) -> str:
    return client.beta.assistants.create(model="cloud/x").id


@pytest.fixture
def thread_id(client) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": "Greet me"}]).id


def stream_run(live, person, thread_id: str, assistant_id: str) -> list:
    """The run's raw Assistants SSE, as the wire carries it."""
    response = httpx.post(f"{live.v1}/threads/{thread_id}/runs", json={"assistant_id": assistant_id, "stream": True},
                          headers=person.headers, timeout=20)
    return parse_sse(response.text)


def test_the_assistants_stream_of_a_thinking_model_is_that_of_any_model(live_entities, alice, cloud, assistant_id,
                                                                        thread_id):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS, usage=(4, 6, 2)))

    events = stream_run(live_entities, alice, thread_id, assistant_id)

    assert names(events) == TEXT_REPLY_ORDER
    ids = [int(e.id) for e in events[:-1]]
    assert ids == sorted(set(ids))  # increasing; the reasoning's numbers are skipped, not reused
    completed = next(e.json() for e in events if e.event == "thread.message.completed")
    assert [part["text"]["value"] for part in completed["content"]] == ["Hello there."]
    assert "reasoning" not in completed
    assert events[-2].json()["usage"] == {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10,
                                          "completion_tokens_details": {"reasoning_tokens": 2}}
    assert Message.objects.get(pk=completed["id"]).reasoning == "The user wants a greeting."


def test_the_sdk_reads_a_clean_message_and_the_next_run_sends_no_reasoning(client, cloud, assistant_id, thread_id):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS))
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    client.beta.threads.messages.create(thread_id=thread_id, role="user", content="Again")
    cloud.push(Reply(["Hi."]))

    client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)

    assert run.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread_id, order="asc").data
    assert [m.content[0].text.value for m in messages] == ["Greet me", "Hello there.", "Again", "Hi."]
    assert [m["content"] for m in cloud.requests[1]["messages"]] == ["Greet me", "Hello there.", "Again"]


def test_a_replay_from_stored_state_numbers_the_events_as_the_live_stream(live_entities, alice, cloud,
                                                                          assistant_id, thread_id):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS))
    live = stream_run(live_entities, alice, thread_id, assistant_id)
    run_id = live[0].json()["id"]
    forget_event_log(live_entities, run_id)

    stored = parse_sse(httpx.get(f"{live_entities.v1}/threads/{thread_id}/runs/{run_id}/events", timeout=20,
                                 headers={**alice.headers, "Last-Event-ID": "0"}).text)

    def lifecycle(events):
        return [(e.event, e.json()) for e in events if e.event not in ("thread.message.delta", "done")]

    assert lifecycle(stored) == lifecycle(live)
    # Exact up to the first delta (the reasoning's, which neither stream shows) and from the last
    # one on; the stretch between is the condensed one (engine/replay.py).
    assert [e.id for e in stored[:3]] == [e.id for e in live[:3]] == ["1", "2", "3"]
    assert [e.id for e in stored[-4:]] == [e.id for e in live[-4:]]


def test_the_websocket_relays_the_reasoning_before_the_message(live_entities, alice, client, cloud, assistant_id,
                                                                thread_id):
    cloud.push(Reply(ANSWER, reasoning=THOUGHTS, delay=0.05, first_delay=0.3))
    run_id = client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id).id

    async def watch() -> list[dict]:
        url = f"{live_entities.ws_url}/ws/threads/{thread_id}/?token={alice.api_key}"
        async with websockets.connect(url, open_timeout=10) as socket:
            await collect(websocket_receive(socket), is_type("ready"))
            await socket.send(json.dumps({"type": "subscribe", "run_id": run_id, "after_seq": 0}))
            return events(await collect(websocket_receive(socket), is_done(run_id)))

    frames = asyncio.run(watch())

    reasoning = [f["data"] for f in frames if f["event"] == "thread.reasoning.delta"]
    message_id = next(f["data"]["id"] for f in frames if f["event"] == "thread.message.created")
    assert [r["delta"]["text"] for r in reasoning] == THOUGHTS
    assert {r["id"] for r in reasoning} == {"rs_" + message_id.removeprefix("msg_")}
    kinds = [f["event"] for f in frames]
    assert kinds.index("thread.reasoning.delta") < kinds.index("thread.run.step.created")
