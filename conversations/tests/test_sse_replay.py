"""A replay from stored state sends what the live stream sent (conversations/engine/replay.py).

Each test streams a run live (`stream: true`), drops the run's event log in the server (as
a process that never ran it has none), then reads the run again over the resume GET. The
replay must be the live stream with each message's text in one delta and each tool call
announced whole: the same names, the same ids (the deltas' stretch aside), the same objects.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from conversations.models import Message, Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import HttpError, Reply, ToolCalls, words
from testsupport.sse import cloud, forget_event_log, names, parse_sse  # noqa: F401 - cloud is a fixture

LOOKUP = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
DELTAS = ("thread.message.delta", "thread.run.step.delta")


@pytest.fixture
def assistant_id(live_entities, alice, cloud) -> str:
    return httpx.post(f"{live_entities.v1}/assistants", headers=alice.headers,
                      json={"model": "cloud/x", "tools": [LOOKUP]}).json()["id"]


@pytest.fixture
def thread_id(live_entities, alice) -> str:
    return httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                      json={"messages": [{"role": "user", "content": "Count"}]}).json()["id"]


def stream_run(live, person, thread_id: str, assistant_id: str) -> list:
    return parse_sse(httpx.post(f"{live.v1}/threads/{thread_id}/runs", headers=person.headers, timeout=20,
                                json={"assistant_id": assistant_id, "stream": True}).text)


def replay(live, person, thread_id: str, run_id: str, after: int = 0) -> list:
    forget_event_log(live, run_id)
    return parse_sse(httpx.get(f"{live.v1}/threads/{thread_id}/runs/{run_id}/events", timeout=20,
                               headers={**person.headers, "Last-Event-ID": str(after)}).text)


def frames(events) -> list:
    """(id, name, parsed data) of each event (PostgreSQL's jsonb keeps no key order)."""
    return [(e.id, e.event, e.data if e.data == "[DONE]" else e.json()) for e in events]


def lifecycle(events) -> list:
    """(id, name, object) of every event but the deltas and `done`."""
    return [(e.id, e.event, e.json()) for e in events if e.event not in DELTAS and e.event != "done"]


def text(events) -> str:
    return "".join(p["text"]["value"] for e in events if e.event == "thread.message.delta"
                   for p in e.json()["delta"]["content"])


def arguments(events) -> dict[str, str]:
    """Each function call's arguments as the SDK accumulates them (joining the fragments)."""
    calls: dict[int, str] = {}
    for e in events:
        if e.event == "thread.run.step.delta":
            for call in e.json()["delta"]["step_details"]["tool_calls"]:
                function = call.get("function") or {}
                calls[call["index"]] = calls.get(call["index"], "") + (function.get("arguments") or "")
    return calls


def test_it_replays_a_text_reply_as_it_was_streamed(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(words("one two three four five")))
    live = stream_run(live_entities, alice, thread_id, assistant_id)

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"])

    assert lifecycle(stored) == lifecycle(live)
    assert names(stored).count("thread.message.delta") == 1
    last_delta = [e.id for e in live if e.event == "thread.message.delta"][-1]
    assert [e.id for e in stored if e.event == "thread.message.delta"] == [last_delta]
    assert text(stored) == text(live) == "one two three four five"
    assert stored[-1].event == "done"


def test_it_replays_a_run_paused_for_tool_outputs_with_each_call_announced_whole(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(ToolCalls([("lookup", '{"order": "A-17"}'), ("lookup", '{"order": "B-2"}')], fragment_size=3))
    live = stream_run(live_entities, alice, thread_id, assistant_id)

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"])

    assert lifecycle(stored) == lifecycle(live)
    assert names(stored)[-2:] == ["thread.run.requires_action", "done"]
    assert names(stored).count("thread.run.step.delta") == 2  # one announcement per call
    assert arguments(stored) == arguments(live) == {0: '{"order": "A-17"}', 1: '{"order": "B-2"}'}


def test_it_replays_the_continued_segment_after_tool_outputs(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(ToolCalls([("lookup", "{}")]))
    cloud.push(Reply(words("shipped on Monday")))
    first = stream_run(live_entities, alice, thread_id, assistant_id)
    run = first[0].json()
    call_id = first[-2].json()["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    second = parse_sse(httpx.post(
        f"{live_entities.v1}/threads/{thread_id}/runs/{run['id']}/submit_tool_outputs", headers=alice.headers,
        timeout=20, json={"tool_outputs": [{"tool_call_id": call_id, "output": "shipped"}], "stream": True}).text)

    stored = replay(live_entities, alice, thread_id, run["id"])

    condensed = [e for e in second if e.event != "thread.message.delta"]
    assert [n for n in names(stored) if n != "thread.message.delta"] == names(condensed)
    assert [e.json() for e in stored if e.event not in DELTAS and e.event != "done"] == [
        e.json() for e in condensed if e.event not in DELTAS and e.event != "done"]
    ids = [int(e.id) for e in stored[:-1]]
    assert ids == sorted(set(ids)) and ids[0] > int(first[-2].id)  # after the pause, increasing
    # The closing events carry the live ids: message completed, its step, the run.
    assert [e.id for e in stored[-4:-1]] == [e.id for e in second[-4:-1]]
    assert text(stored) == text(second) == "shipped on Monday"


def test_it_replays_a_failed_run_exactly(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(HttpError(500))
    live = stream_run(live_entities, alice, thread_id, assistant_id)
    assert names(live)[-2] == "thread.run.failed"

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"])

    assert frames(stored) == frames(live)


def test_it_replays_a_reply_cut_at_its_token_limit(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(["Hel", "lo"], finish="length"))
    live = stream_run(live_entities, alice, thread_id, assistant_id)
    assert names(live)[-4:-1] == ["thread.message.incomplete", "thread.run.step.completed", "thread.run.incomplete"]

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"])

    assert lifecycle(stored) == lifecycle(live)
    assert text(stored) == "Hello"


def test_it_replays_a_cancel_in_mid_reply_in_the_order_it_happened(live_entities, alice, cloud, assistant_id,
                                                                  thread_id):
    cloud.push(Reply(words("one two three four five six seven eight nine ten"), delay=0.1))
    seen, run_id = [], None
    with httpx.stream("POST", f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers, timeout=20,
                      json={"assistant_id": assistant_id, "stream": True}) as response:
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line != "":
                continue
            seen = parse_sse("\n".join(lines) + "\n")
            if run_id is None:
                run_id = seen[0].json()["id"]
            if names(seen).count("thread.message.delta") == 2 and "thread.run.cancelling" not in names(seen):
                httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs/{run_id}/cancel", headers=alice.headers)
    assert names(seen)[-2] == "thread.run.cancelled"

    stored = replay(live_entities, alice, thread_id, run_id)

    assert [n for n in names(stored) if n != "thread.message.delta"] == [
        n for n in names(seen) if n != "thread.message.delta"]
    assert lifecycle(stored)[-4:] == lifecycle(seen)[-4:]  # cancelling, incomplete message, step, run
    assert text(stored) == text(seen) == Message.objects.get(run_id=run_id).text()


def test_it_resumes_a_position_inside_the_text_at_the_closing_events(live_entities, alice, cloud, assistant_id,
                                                                    thread_id):
    cloud.push(Reply(words("one two three four five")))
    live = stream_run(live_entities, alice, thread_id, assistant_id)
    second_delta = [e for e in live if e.event == "thread.message.delta"][1]

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"], after=int(second_delta.id))

    # Storage cannot split the text after the client's part: the message's `completed`,
    # which carries it whole, and what follows.
    assert frames(stored) == frames(live[-4:])
    assert stored[0].json()["content"][0]["text"]["value"] == "one two three four five"


def test_it_answers_the_outcome_to_a_client_that_saw_everything(live_entities, alice, cloud, assistant_id,
                                                               thread_id):
    cloud.push(Reply(["Hi"]))
    live = stream_run(live_entities, alice, thread_id, assistant_id)

    stored = replay(live_entities, alice, thread_id, live[0].json()["id"], after=int(live[-2].id) + 5)

    assert frames(stored) == frames(live[-2:])
    assert Run.objects.get(pk=live[0].json()["id"]).event_seq == int(live[-2].id)


def test_it_replays_the_same_events_over_the_websocket(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(words("one two three")))
    live = stream_run(live_entities, alice, thread_id, assistant_id)
    run_id = live[0].json()["id"]
    forget_event_log(live_entities, run_id)

    async def subscribe() -> list[dict]:
        url = f"{live_entities.ws_url}/ws/threads/{thread_id}/?token={alice.api_key}"
        async with websockets.connect(url, open_timeout=10) as socket:
            frames = [json.loads(await asyncio.wait_for(socket.recv(), 10))]
            await socket.send(json.dumps({"type": "subscribe", "run_id": run_id, "after_seq": 0}))
            while frames[-1].get("type") != "done":
                frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        return [f for f in frames if f["type"] == "event"]

    started = time.monotonic()
    frames = asyncio.run(subscribe())
    assert time.monotonic() - started < 10
    sse = replay(live_entities, alice, thread_id, run_id)
    assert [(str(f["seq"]), f["event"], f["data"]) for f in frames] == [(e.id, e.event, e.json()) for e in sse[:-1]]
