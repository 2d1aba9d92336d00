"""One streamed reply, timed at the client, for each target.

(A) direct and (B) thin proxy: `POST /v1/chat/completions` with `stream: true`.
(C) Entities: `POST /v1/threads/{id}/runs` with `stream: true` (raw SSE parsing), or the
WebSocket `send` frame. (R) Entities' Responses API and (O) OGX's: `POST /v1/responses` with
`stream: true`. TTFT is request written → first text delta; ITL the gaps between text deltas; the text is checked against what the fake server sent (no loss, no reorder).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.fakeoai import expected_text
from bench.httpclient import Connection, SSEParser

_loads = json.loads
_VALUE = b'"value":"'
_CONTENT = b'"content":"'


def _text_after(payload: bytes, key: bytes) -> str | None:
    """The JSON string value after ``key``, found without parsing the whole event (cheap
    per token); None when absent. Escaped text falls back to the full parser's answer."""
    start = payload.find(key)
    if start < 0:
        return None
    start += len(key)
    end = payload.find(b'"', start)
    text = payload[start:end]
    if b"\\" in text or end < 0:
        return None
    return text.decode()


@dataclass
class StreamResult:
    ok: bool = False
    error: str | None = None
    status: int = 0
    ttft: float | None = None
    total: float | None = None
    deltas: int = 0
    times: list[float] = field(default_factory=list)

    def gaps(self) -> list[float]:
        t = self.times
        return [t[i] - t[i - 1] for i in range(1, len(t))]

    def lateness(self, itl: float) -> list[float]:
        """How far behind the model's schedule each token arrived, counted from the first
        token: a stream that falls behind and then delivers in bursts shows small gaps but
        large lateness."""
        t = self.times
        return [t[i] - t[0] - i * itl for i in range(1, len(t))]


def chat_body(model: str) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "Say something."}], "stream": True,
                       "stream_options": {"include_usage": True}}).encode()


def run_body(assistant_id: str, model: str) -> bytes:
    return json.dumps({"assistant_id": assistant_id, "model": model, "stream": True}).encode()


def _finish(result: StreamResult, parts: list[str], tokens: int, started: float, ended: float, closed: bool) -> StreamResult:
    if result.error is None:
        if not closed:
            result.error = "stream ended without its final event"
        elif "".join(parts) != expected_text(tokens):
            result.error = f"text mismatch: got {len(parts)} deltas, {len(''.join(parts))} chars"
    result.total = ended - started
    if result.times:
        result.ttft = result.times[0] - started
    result.deltas = len(result.times)
    result.ok = result.error is None
    return result


@dataclass
class _Read:
    """What one SSE stream has given so far (fed by the target's event handler)."""

    result: StreamResult = field(default_factory=StreamResult)
    parts: list[str] = field(default_factory=list)
    done: bool = False

    def text(self, text: str | None, t: float) -> None:
        if text:
            self.parts.append(text)
            self.result.times.append(t)


async def _stream_sse(conn: Connection, path: str, body: bytes, tokens: int, timeout: float,
                      handle: Callable[[_Read, str | None, bytes, float], None]) -> StreamResult:
    """POST ``body`` to ``path`` and give each SSE event to ``handle(read, event, payload, t)``;
    the timed, checked result once the stream ends."""
    read, parser = _Read(), SSEParser()

    def on_data(data: bytes, t: float) -> None:
        for event, payload in parser.feed(data):
            handle(read, event, payload, t)

    started = time.perf_counter()
    try:
        response = await conn.request("POST", path, body=body, on_data=on_data,
                                      headers={"Content-Type": "application/json"}, timeout=timeout)
        started, read.result.status = response.sent_at, response.status
        if response.status != 200:
            read.result.error = read.result.error or f"HTTP {response.status}"
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        read.result.error = f"{type(exc).__name__}: {exc}"
    return _finish(read.result, read.parts, tokens, started, time.perf_counter(), read.done)


def _on_chat_event(read: _Read, _event: str | None, payload: bytes, t: float) -> None:
    if payload == b"[DONE]":
        read.done = True
        return
    text = _text_after(payload, _CONTENT)
    if text is None and b"\\" in payload:
        choices = _loads(payload).get("choices")
        text = choices[0]["delta"].get("content") if choices else None
    read.text(text, t)


_RUN_ENDS = ("thread.run.failed", "thread.run.expired", "thread.run.cancelled", "thread.run.incomplete", "error")


def _on_run_event(read: _Read, event: str | None, payload: bytes, t: float) -> None:
    if event == "thread.message.delta":
        text = _text_after(payload, _VALUE)
        read.text(text if text is not None else _loads(payload)["delta"]["content"][0]["text"]["value"], t)
    elif event == "thread.run.completed":
        read.done = True
    elif event in _RUN_ENDS:
        data = _loads(payload)
        error = data.get("last_error") or data.get("error") or data.get("incomplete_details")
        read.result.error = f"{event}: {error}"


_DELTA = b'"delta":"'
_RESPONSE_ENDS = ("response.failed", "response.incomplete", "response.cancelled", "error")


_RESPONSE_TYPE = b'"type":"response.'


def _event_type(payload: bytes) -> str | None:
    """The event's type from its payload, for servers that send no ``event:`` line (OGX). Nested
    objects have types too ("message", "output_text"), but only the event's starts "response.";
    text inside a delta has its quotes escaped, so it cannot match."""
    start = payload.find(_RESPONSE_TYPE)
    if start >= 0:
        start += 8
        return payload[start:payload.find(b'"', start)].decode()
    try:  # an error event, or JSON written with spaces: the full parser
        data = _loads(payload)
    except ValueError:
        return None
    return data.get("type") if isinstance(data, dict) else None


def _on_responses_event(read: _Read, event: str | None, payload: bytes, t: float) -> None:
    if not event:
        event = _event_type(payload)
    if event == "response.output_text.delta":
        text = _text_after(payload, _DELTA)
        read.text(text if text is not None else _loads(payload)["delta"], t)
    elif event == "response.completed":
        read.done = True
    elif event in _RESPONSE_ENDS:
        data = _loads(payload)
        read.result.error = f"{event}: {(data.get('response') or {}).get('error') or data.get('message')}"


async def stream_chat(conn: Connection, model: str, tokens: int, timeout: float) -> StreamResult:
    """A or B: one streamed chat completion."""
    return await _stream_sse(conn, "/v1/chat/completions", chat_body(model), tokens, timeout, _on_chat_event)


async def stream_run(conn: Connection, thread_id: str, assistant_id: str, model: str, tokens: int,
                     timeout: float) -> StreamResult:
    """C over SSE: create a run with `stream: true` and read its Assistants events."""
    return await _stream_sse(conn, f"/v1/threads/{thread_id}/runs", run_body(assistant_id, model), tokens, timeout,
                             _on_run_event)


def responses_body(model: str) -> bytes:
    return json.dumps({"model": model, "input": "Say something.", "stream": True}).encode()


async def stream_responses(conn: Connection, model: str, tokens: int, timeout: float) -> StreamResult:
    """R: `POST /v1/responses` with `stream: true`, reading the Responses stream events."""
    return await _stream_sse(conn, "/v1/responses", responses_body(model), tokens, timeout, _on_responses_event)


async def stream_ws(ws_url: str, assistant_id: str, model: str, tokens: int, timeout: float) -> StreamResult:
    """C over the WebSocket: connect and wait for `ready` (untimed), then time `send` → deltas → `done`."""
    from websockets.asyncio.client import connect

    result, parts = StreamResult(), []
    done = False
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with connect(ws_url, compression=None, open_timeout=10, close_timeout=2, max_size=1 << 22) as ws:
                ready = _loads(await ws.recv())
                if ready.get("type") != "ready":
                    raise ValueError(f"first frame was {ready!r}")
                frame = json.dumps({"type": "send", "content": "Say something.", "assistant_id": assistant_id,
                                    "model": model})
                started = time.perf_counter()
                await ws.send(frame)
                async for raw in ws:
                    t = time.perf_counter()
                    message = _loads(raw)
                    kind = message.get("type")
                    if kind == "event":
                        name = message["event"]
                        if name == "thread.message.delta":
                            parts.append(message["data"]["delta"]["content"][0]["text"]["value"])
                            result.times.append(t)
                        elif name in ("thread.run.failed", "thread.run.expired", "thread.run.cancelled"):
                            result.error = f"{name}: {message['data'].get('last_error')}"
                    elif kind == "done":
                        done = True
                        break
                    elif kind == "error":
                        result.error = f"error frame: {message.get('error')}"
                        break
    except Exception as exc:  # noqa: BLE001 - any failure is this stream's error
        result.error = f"{type(exc).__name__}: {exc}"
    return _finish(result, parts, tokens, started, time.perf_counter(), done)
