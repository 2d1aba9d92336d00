"""A client that falls behind a stream gets the text deltas waiting for it merged into
fewer frames, the text exact; a client that keeps up gets every delta as it came."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from conversations.engine.events import COALESCE_BACKLOG, MAX_COALESCED, RunEvent, coalesce_deltas, message_text_delta
from conversations.engine.stream import RunStream
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply
from testsupport.sse import cloud  # noqa: F401 - a fixture

FRAME = re.compile(rb"id: (\d+)\nevent: ([a-z_.]+)\ndata: (\{.*?\})\n\n")
CHUNKS = [f"w{i} " for i in range(4000)]
READ_TIMEOUT_SECONDS = 60.0


def _delta(seq: int, message_id: str, text: str, *, first: bool = False) -> RunEvent:
    return RunEvent(seq, "thread.message.delta", message_text_delta(message_id, text, first=first))


def test_it_merges_the_waiting_deltas_of_one_message_into_one_with_the_last_seq():
    events = [_delta(5, "msg_a", "He", first=True), _delta(6, "msg_a", "llo"), _delta(7, "msg_a", "!"),
              _delta(8, "msg_b", "other"), RunEvent(9, "thread.message.completed", {"id": "msg_b"})]

    merged, after = coalesce_deltas(events, 0)

    assert after == 3
    assert (merged.seq, merged.name, merged.text()) == (7, "thread.message.delta", "Hello!")
    assert merged.data == message_text_delta("msg_a", "Hello!", first=True)
    assert coalesce_deltas(events, 3) == (events[3], 4)  # the next message's delta stands alone
    assert coalesce_deltas(events, 4) == (events[4], 5)  # and nothing else is merged


def test_it_merges_at_most_the_bound():
    events = [_delta(i + 1, "msg_a", "x") for i in range(MAX_COALESCED + 10)]

    merged, after = coalesce_deltas(events, 0)

    assert (after, merged.seq, merged.text()) == (MAX_COALESCED, MAX_COALESCED, "x" * MAX_COALESCED)


async def test_a_watcher_that_keeps_up_gets_every_delta_and_the_first_at_once():
    stream = RunStream("run_a")
    stream.append("thread.message.delta", message_text_delta("msg_a", "first", first=True))
    seen = stream.iterate(0, idle_timeout=1, coalesce=True)

    assert (await seen.__anext__()).text() == "first"  # nothing waits for more deltas
    for i in range(COALESCE_BACKLOG - 1):
        stream.append("thread.message.delta", message_text_delta("msg_a", f"{i}", first=False))
    # Behind by fewer than COALESCE_BACKLOG: one event each.
    assert [(await seen.__anext__()).seq for _ in range(COALESCE_BACKLOG - 1)] == list(range(2, COALESCE_BACKLOG + 1))
    await seen.aclose()


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


def _slow_stream(live, person, thread_id: str, assistant_id: str) -> bytes:
    """The whole SSE body of a new run, read through a small receive buffer, slowly."""
    body = json.dumps({"assistant_id": assistant_id, "stream": True}).encode()
    request = (f"POST /v1/threads/{thread_id}/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {person.api_key}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(READ_TIMEOUT_SECONDS)
    sock.connect(("127.0.0.1", live.port))
    received = bytearray()
    try:
        sock.sendall(request)
        time.sleep(1.0)  # the reply is produced meanwhile; nobody reads
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            piece = sock.recv(2048)
            if not piece:
                break
            received += piece
            time.sleep(0.002)
    finally:
        sock.close()
    head, _, rest = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return _dechunk(rest) if b"transfer-encoding: chunked" in head.lower() else rest


@pytest.mark.slow
def test_a_slow_reader_gets_fewer_frames_and_the_exact_text(live_entities, alice, cloud):
    cloud.push(Reply(CHUNKS))
    assistant_id = httpx.post(f"{live_entities.v1}/assistants", headers=alice.headers,
                              json={"model": "cloud/x"}).json()["id"]
    thread_id = httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                           json={"messages": [{"role": "user", "content": "Count"}]}).json()["id"]

    frames = FRAME.findall(_slow_stream(live_entities, alice, thread_id, assistant_id))

    deltas = [json.loads(data) for _, name, data in frames if name == b"thread.message.delta"]
    text = "".join(p["text"]["value"] for d in deltas for p in d["delta"]["content"])
    seqs = [int(seq) for seq, _, _ in frames]
    assert text == "".join(CHUNKS)
    assert len(deltas) < len(CHUNKS) / 2, f"{len(deltas)} delta frames for {len(CHUNKS)} chunks"
    assert seqs == sorted(set(seqs)) and frames[-1][1] == b"thread.run.completed"
    assert deltas[0]["delta"]["content"][0]["text"]["annotations"] == []
