"""`stream: true` on the wire, read with plain httpx: the bytes, the headers, the timing.

The SDK forgives a lot (it ignores the content type, accepts EOF without `[DONE]`); these
tests hold the server to the exact format, so any SSE client works.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from conversations.models import Message, Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, words
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud, names, parse_sse  # noqa: F401 - cloud is a fixture

FRAME = re.compile(r"id: (\d+)\nevent: ([a-z_.]+)\ndata: (\{.*\})\n\n")
DONE = "event: done\ndata: [DONE]\n\n"
SLOW_WORDS = words("one two three four five six seven eight nine ten")


@pytest.fixture
def assistant_id(live_entities, alice, cloud) -> str:
    response = httpx.post(f"{live_entities.v1}/assistants", headers=alice.headers, json={"model": "cloud/x"})
    return response.json()["id"]


@pytest.fixture
def thread_id(live_entities, alice) -> str:
    response = httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                          json={"messages": [{"role": "user", "content": "Say hello"}]})
    return response.json()["id"]


def stream_run(live, person, thread_id: str, assistant_id: str, **headers) -> httpx.Response:
    return httpx.post(f"{live.v1}/threads/{thread_id}/runs", headers={**person.headers, **headers},
                      json={"assistant_id": assistant_id, "stream": True}, timeout=20)


def wait_for_run(run_id: str, statuses: set[str], timeout: float = 10.0) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run = Run.objects.get(pk=run_id)
        if run.status in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run.status} after {timeout} s"
        time.sleep(0.05)


def test_it_answers_the_sdks_request_headers_with_an_unbuffered_uncompressed_event_stream(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    # The SDK's own headers: Accept: application/json (no 406), and it would take gzip.
    response = stream_run(live_entities, alice, thread_id, assistant_id, **{
        "Accept": "application/json", "Accept-Encoding": "gzip, deflate", "X-Stainless-Stream-Helper":
        "threads.runs.create_and_stream"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in response.headers
    assert "content-length" not in response.headers


def test_it_writes_every_event_as_one_id_event_data_frame_and_ends_with_done(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    body = stream_run(live_entities, alice, thread_id, assistant_id).content.decode()

    assert body.endswith(DONE)
    frames = FRAME.findall(body[: -len(DONE)])
    # Nothing but whole frames: no stray bytes, comments or keep-alives between them.
    assert "".join(f"id: {i}\nevent: {n}\ndata: {d}\n\n" for i, n, d in frames) + DONE == body
    assert [int(i) for i, _, _ in frames] == list(range(1, len(frames) + 1))
    assert [n for _, n, _ in frames] == [
        "thread.run.created", "thread.run.queued", "thread.run.in_progress",
        "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
        "thread.message.in_progress", *["thread.message.delta"] * 5, "thread.message.completed",
        "thread.run.step.completed", "thread.run.completed",
    ]
    for _, _, data in frames:
        assert data == json.dumps(json.loads(data), separators=(",", ":"), ensure_ascii=False)
    completed = json.loads(frames[-1][2])
    assert completed["status"] == "completed"
    assert completed["usage"] == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}
    assert Run.objects.get(pk=completed["id"]).event_seq == len(frames)


def test_it_sends_incremental_text_deltas_after_the_message_is_created(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(FAKE_CHUNKS))
    events = parse_sse(stream_run(live_entities, alice, thread_id, assistant_id).text)

    created_at = names(events).index("thread.message.created")
    created = events[created_at].json()
    assert (created["status"], created["content"], created["attachments"], created["role"]) == (
        "in_progress", [], [], "assistant")
    delta_positions = [i for i, e in enumerate(events) if e.event == "thread.message.delta"]
    assert min(delta_positions) > created_at
    deltas = [events[i].json() for i in delta_positions]
    assert deltas[0] == {"id": created["id"], "object": "thread.message.delta", "delta": {"content": [
        {"index": 0, "type": "text", "text": {"value": FAKE_CHUNKS[0], "annotations": []}}]}}
    # Later deltas carry only the new text: nothing repeated, no numbers to be added up twice.
    assert deltas[1:] == [
        {"id": created["id"], "object": "thread.message.delta", "delta": {"content": [
            {"index": 0, "type": "text", "text": {"value": chunk}}]}}
        for chunk in FAKE_CHUNKS[1:]]
    completed = events[names(events).index("thread.message.completed")].json()
    assert completed["content"] == [{"type": "text", "text": {"value": FAKE_TEXT, "annotations": []}}]
    assert Message.objects.get(pk=created["id"]).content == completed["content"]


def test_it_sends_the_first_delta_long_before_the_reply_is_finished(
        live_entities, alice, cloud, assistant_id, thread_id):
    delay = 0.12
    cloud.push(Reply(SLOW_WORDS, delay=delay))
    arrivals: dict[str, list[float]] = {}
    started = time.monotonic()
    with httpx.stream("POST", f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers,
                      json={"assistant_id": assistant_id, "stream": True}, timeout=20) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                arrivals.setdefault(line[len("event: "):], []).append(time.monotonic() - started)

    first, last = arrivals["thread.message.delta"][0], arrivals["thread.message.delta"][-1]
    total = arrivals["done"][0]
    print(f"\nfirst delta {first * 1000:.0f} ms, last delta {last * 1000:.0f} ms, done {total * 1000:.0f} ms "
          f"({len(SLOW_WORDS)} chunks, {delay * 1000:.0f} ms apart)")
    # The fake needs (n-1) * delay to send the rest; a buffering server would deliver it all at once.
    assert last - first >= (len(SLOW_WORDS) - 1) * delay * 0.8
    assert first < total - (len(SLOW_WORDS) - 2) * delay
    gaps = [b - a for a, b in zip(arrivals["thread.message.delta"], arrivals["thread.message.delta"][1:])]
    assert min(gaps) > delay / 2


def test_it_keeps_running_the_run_when_the_client_goes_away_mid_stream(
        live_entities, alice, cloud, assistant_id, thread_id):
    cloud.push(Reply(SLOW_WORDS, delay=0.05))
    deltas = 0
    run_id = None
    with httpx.stream("POST", f"{live_entities.v1}/threads/{thread_id}/runs", headers=alice.headers,
                      json={"assistant_id": assistant_id, "stream": True}, timeout=20) as response:
        lines = response.iter_lines()
        for line in lines:
            if line.startswith("data: {") and run_id is None:
                run_id = json.loads(line[len("data: "):])["id"]
            if line == "event: thread.message.delta":
                deltas += 1
                if deltas == 2:
                    break
    # The response is closed here, with eight words still to come.

    run = wait_for_run(run_id, {"completed", "failed", "cancelled", "expired", "incomplete"})
    assert run.status == "completed"
    [reply] = Message.objects.filter(run=run)
    assert (reply.status, reply.content[0]["text"]["value"]) == ("completed", "".join(SLOW_WORDS))
    assert cloud.disconnects == 0  # the model's stream was read to its end


def test_it_streams_create_thread_and_run_starting_with_the_new_thread(live_entities, alice, cloud, assistant_id):
    cloud.push(Reply(FAKE_CHUNKS))
    response = httpx.post(f"{live_entities.v1}/threads/runs", headers=alice.headers, timeout=20, json={
        "assistant_id": assistant_id, "stream": True, "thread": {"messages": [{"role": "user", "content": "Hi"}]}})

    events = parse_sse(response.text)
    thread = events[0].json()
    assert (events[0].event, thread["object"]) == ("thread.created", "thread")
    assert names(events)[1:4] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert events[1].json()["thread_id"] == thread["id"]
    assert names(events)[-2:] == ["thread.run.completed", "done"]


def test_it_answers_a_streaming_request_for_a_missing_thread_with_the_json_error(live_entities, alice, assistant_id):
    response = httpx.post(f"{live_entities.v1}/threads/thread_nope/runs", headers=alice.headers,
                          json={"assistant_id": assistant_id, "stream": True})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_it_hides_another_users_thread_from_a_streaming_request(live_entities, alice, bob, assistant_id, thread_id):
    response = httpx.post(f"{live_entities.v1}/threads/{thread_id}/runs", headers=bob.headers,
                          json={"assistant_id": assistant_id, "stream": True})

    assert response.status_code == 404
    assert not Run.objects.exists()
