"""`GET /v1/threads/{t}/runs/{r}/events`: reattaching to a run's stream (Entities extension).

A client that lost its `stream: true` response sends the last `id:` it saw as
`Last-Event-ID` (what EventSource does by itself) or `?after_seq=`, and gets the rest
exactly once, in the same format, ending with `done`.
"""

from __future__ import annotations

import httpx
import pytest

from conversations.models import Message, Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, ToolCalls, words
from testsupport.sse import (  # noqa: F401 - cloud is a fixture
    FAKE_CHUNKS, FAKE_TEXT, cloud, forget_event_log, names, parse_sse,
)

SLOW_WORDS = words("one two three four five six seven eight nine ten")
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture
def assistant_id(live_entities, alice, cloud) -> str:
    return httpx.post(f"{live_entities.v1}/assistants", headers=alice.headers,
                      json={"model": "cloud/x", "tools": [TOOL]}).json()["id"]


@pytest.fixture
def thread_id(live_entities, alice) -> str:
    return httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                      json={"messages": [{"role": "user", "content": "Count"}]}).json()["id"]


def events_url(live, thread_id: str, run_id: str) -> str:
    return f"{live.v1}/threads/{thread_id}/runs/{run_id}/events"


def read_until(live, person, thread_id: str, assistant_id: str, *, deltas: int) -> list:
    """Start a streamed run and hang up after ``deltas`` text deltas; the events seen so far."""
    seen, lines = [], []
    with httpx.stream("POST", f"{live.v1}/threads/{thread_id}/runs", headers=person.headers,
                      json={"assistant_id": assistant_id, "stream": True}, timeout=20) as response:
        for line in response.iter_lines():
            lines.append(line)
            if line == "":
                seen = parse_sse("\n".join(lines) + "\n")
                if names(seen).count("thread.message.delta") == deltas:
                    break
    return seen


def delta_text(events) -> str:
    return "".join(p["text"]["value"] for e in events if e.event == "thread.message.delta"
                   for p in e.json()["delta"]["content"])


def test_it_sends_the_rest_of_a_running_run_after_last_event_id_exactly_once(live_entities, alice, cloud, assistant_id,
                                                                              thread_id):
    cloud.push(Reply(SLOW_WORDS, delay=0.05))
    before = read_until(live_entities, alice, thread_id, assistant_id, deltas=2)
    run_id, last_id = before[0].json()["id"], before[-1].id

    response = httpx.get(events_url(live_entities, thread_id, run_id), timeout=20,
                         headers={**alice.headers, "Last-Event-ID": last_id, "Accept": "text/event-stream"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    after = parse_sse(response.text)
    assert names(after)[-1] == "done"
    ids = [int(e.id) for e in before + after[:-1]]
    assert ids == list(range(1, len(ids) + 1))  # nothing missing, nothing twice
    assert names(before + after)[-4:] == ["thread.message.completed", "thread.run.step.completed",
                                          "thread.run.completed", "done"]
    text = delta_text(before + after)
    assert text == "".join(SLOW_WORDS)
    assert Message.objects.get(run_id=run_id).content[0]["text"]["value"] == text


def test_it_takes_the_position_from_the_after_seq_parameter_too(live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(SLOW_WORDS, delay=0.05))
    before = read_until(live_entities, alice, thread_id, assistant_id, deltas=1)
    run_id = before[0].json()["id"]

    after = parse_sse(httpx.get(events_url(live_entities, thread_id, run_id), headers=alice.headers,
                                params={"after_seq": before[-1].id}, timeout=20).text)

    assert [int(e.id) for e in after[:-1]] == list(range(int(before[-1].id) + 1, int(before[-1].id) + len(after)))
    assert delta_text(before + after) == "".join(SLOW_WORDS)


def test_it_sends_a_whole_running_run_to_a_watcher_attaching_from_the_start(live_entities, alice, cloud, assistant_id,
                                                                             thread_id):
    cloud.push(Reply(SLOW_WORDS, delay=0.05))
    run = httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers,
                     json={"assistant_id": assistant_id}).json()

    events = parse_sse(httpx.get(events_url(live_entities, thread_id, run["id"]), headers=alice.headers,
                                 timeout=20).text)

    assert names(events)[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert [int(e.id) for e in events[:-1]] == list(range(1, len(events)))
    assert delta_text(events) == "".join(SLOW_WORDS)


def test_it_sends_the_final_run_and_done_to_a_watcher_attaching_after_the_end(live_entities, alice, cloud, assistant_id,
                                                                               thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    whole = parse_sse(httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers, timeout=20,
                                 json={"assistant_id": assistant_id, "stream": True}).text)
    run_id, last_id = whole[0].json()["id"], whole[-2].id

    late = parse_sse(httpx.get(events_url(live_entities, thread_id, run_id), timeout=20,
                               headers={**alice.headers, "Last-Event-ID": last_id}).text)

    # Nothing is left after the last id: the final run event comes once more (the outcome).
    assert [(e.id, e.event) for e in late] == [(e.id, e.event) for e in whole[-2:]]
    assert late[0].json() == whole[-2].json()
    assert late[0].json()["status"] == "completed"


def test_it_replays_a_finished_run_from_the_retained_log_then_from_stored_state(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    whole = parse_sse(httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers, timeout=20,
                                 json={"assistant_id": assistant_id, "stream": True}).text)
    run_id = whole[0].json()["id"]
    url = events_url(live_entities, thread_id, run_id)

    retained = parse_sse(httpx.get(url, headers={**alice.headers, "Last-Event-ID": "3"}, timeout=20).text)
    assert [(e.id, e.event, e.data) for e in retained] == [(e.id, e.event, e.data) for e in whole[3:]]

    forget_event_log(live_entities, run_id)
    stored = parse_sse(httpx.get(url, headers={**alice.headers, "Last-Event-ID": "3"}, timeout=20).text)
    # The same events with the same ids, except that storage keeps the text whole: one delta,
    # numbered as the last live delta was.
    live_deltas = [e for e in whole if e.event == "thread.message.delta"]
    condensed = [e for e in whole[3:] if e.event != "thread.message.delta" or e is live_deltas[-1]]
    assert [(e.id, e.event) for e in stored] == [(e.id, e.event) for e in condensed]
    assert delta_text(stored) == delta_text(whole) == FAKE_TEXT
    assert [e.json() for e in stored[:-1] if e.event != "thread.message.delta"] == [
        e.json() for e in condensed[:-1] if e.event != "thread.message.delta"]


def test_it_ends_the_stream_of_a_run_waiting_for_tool_outputs_at_requires_action(live_entities, alice, cloud,
                                                                                 assistant_id, thread_id):
    cloud.push(ToolCalls([("lookup", "{}")]))
    first = parse_sse(httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers, timeout=20,
                                 json={"assistant_id": assistant_id, "stream": True}).text)
    run_id = first[0].json()["id"]

    again = parse_sse(httpx.get(events_url(live_entities, thread_id, run_id), headers=alice.headers, timeout=20).text)

    assert names(again) == names(first)
    assert names(again)[-2:] == ["thread.run.requires_action", "done"]
    assert Run.objects.get(pk=run_id).status == "requires_action"


def test_it_hides_another_users_run_and_refuses_a_bad_position(live_entities, alice, bob, cloud, assistant_id,
                                                               thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    run = httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers,
                     json={"assistant_id": assistant_id}).json()
    url = events_url(live_entities, thread_id, run["id"])

    assert httpx.get(url, headers=bob.headers).status_code == 404
    assert httpx.get(f"{live_entities.v1}/threads/{thread_id}/runs/run_nope/events",
                     headers=alice.headers).status_code == 404
    for bad in ("-1", "three"):
        response = httpx.get(url, headers={**alice.headers, "Last-Event-ID": bad})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "after_seq"
    assert httpx.get(url).status_code == 401


def test_it_registers_the_resume_route_once():
    from django.urls import URLPattern, URLResolver, get_resolver

    def routes(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from routes(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    assert [r for r in routes(get_resolver().url_patterns) if r.endswith("/events")] == [
        "v1/threads/<str:thread_id>/runs/<str:run_id>/events"]
