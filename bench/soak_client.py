"""The soak's client: one person's HTTP, SSE and WebSocket operations, each checking what it saw."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect

OP_TIMEOUT = 60.0


class SoakError(Exception):
    """An operation saw something a correct server never does."""


@dataclass
class Stack:
    """The running Entities the clients talk to: its URLs, an API key, its database and its assistants."""

    urls: list[str]
    api_key: str
    database_url: str
    secret_key: str
    assistants: dict[str, str] = field(default_factory=dict)


# --- server-sent events ------------------------------------------------------------------------

async def sse_events(response: httpx.Response):
    """(id, event, data) per event of an SSE body; data is JSON where it parses."""
    fields: dict[str, list[str]] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                raw = "\n".join(fields["data"])
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = raw
                yield (fields.get("id") or [None])[-1], (fields.get("event") or [None])[-1], data
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)


def _deltas(data: dict) -> str:
    return "".join(p.get("text", {}).get("value", "") for p in data.get("delta", {}).get("content", []))


class Segment:
    """What one stream segment said: its events, the text of its deltas, the run at its end."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.text = ""
        self.run: dict | None = None
        self.message: dict | None = None
        self.last_id: str | None = None
        self.done = False

    def add(self, event_id, name, data) -> None:
        self.last_id = event_id or self.last_id
        if name == "done":
            self.done = True
            return
        self.names.append(name)
        if name == "thread.message.delta":
            self.text += _deltas(data)
        elif name == "thread.message.completed":
            self.message = data
        elif name == "error":
            raise SoakError(f"error event in the stream: {data}")
        if isinstance(data, dict) and data.get("object") == "thread.run":
            self.run = data


# --- the operations ----------------------------------------------------------------------------

class Client:
    """One soak client: an HTTP connection pool and the operations, each returning the status its run ended in."""

    def __init__(self, stack: Stack, rng: random.Random) -> None:
        self.stack = stack
        self.rng = rng
        headers = {"Authorization": f"Bearer {stack.api_key}", "OpenAI-Beta": "assistants=v2"}
        self.http = httpx.AsyncClient(headers=headers, timeout=OP_TIMEOUT)

    def url(self, path: str) -> str:
        # Any server may take any request: with --scale, runs are watched across processes.
        return self.rng.choice(self.stack.urls) + path

    def said(self, prefix: str) -> str:
        return f"{prefix} {uuid.uuid4().hex}"

    async def call(self, method: str, path: str, body: dict | None = None, *, expect: int = 200) -> dict:
        response = await self.http.request(method, self.url(path), json=body)
        if response.status_code != expect:
            raise SoakError(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    async def stream(self, method: str, path: str, body: dict | None = None, *, headers: dict | None = None,
                     segment: Segment | None = None, stop_after=None) -> Segment:
        segment = segment or Segment()
        async with self.http.stream(method, self.url(path), json=body, headers=headers) as response:
            if response.status_code != 200:
                raise SoakError(f"{method} {path} answered {response.status_code}: {(await response.aread())[:200]!r}")
            async for event_id, name, data in sse_events(response):
                segment.add(event_id, name, data)
                if stop_after is not None and stop_after(segment):
                    return segment  # leaving the block drops the connection mid-stream
        if not segment.done:
            raise SoakError(f"the stream of {path} ended without done after {segment.names[-3:]}")
        return segment

    @staticmethod
    def expect_end(segment: Segment, status: str) -> str:
        end = segment.names[-1] if segment.names else None
        if end != f"thread.run.{status}":
            raise SoakError(f"expected thread.run.{status}, the stream ended with {end} "
                            f"(last_error={(segment.run or {}).get('last_error')})")
        return status

    # Each operation returns the status its run ended in.
    async def stream_reply(self) -> str:
        said = self.said("stream")
        segment = await self.stream("POST", "/v1/threads/runs", {
            "assistant_id": self.stack.assistants["echo"], "stream": True,
            "thread": {"messages": [{"role": "user", "content": said}]}})
        if segment.text != f"echo: {said}" or segment.message["content"][0]["text"]["value"] != segment.text:
            raise SoakError(f"streamed text {segment.text!r} is not the reply to {said!r}")
        return self.expect_end(segment, "completed")

    async def poll_reply(self) -> str:
        said = self.said("poll")
        thread = await self.call("POST", "/v1/threads", {"messages": [{"role": "user", "content": said}]})
        run = await self.call("POST", f"/v1/threads/{thread['id']}/runs", {"assistant_id": self.stack.assistants["echo"]})
        deadline = time.monotonic() + OP_TIMEOUT
        while run["status"] in ("queued", "in_progress", "cancelling"):
            if time.monotonic() > deadline:
                raise SoakError(f"run {run['id']} still {run['status']} after {OP_TIMEOUT:.0f} s")
            await asyncio.sleep(0.02)
            run = await self.call("GET", f"/v1/threads/{thread['id']}/runs/{run['id']}")
        messages = await self.call("GET", f"/v1/threads/{thread['id']}/messages?order=asc")
        texts = [m["content"][0]["text"]["value"] for m in messages["data"]]
        if run["status"] != "completed" or texts != [said, f"echo: {said}"]:
            raise SoakError(f"run {run['id']} ended {run['status']} with messages {texts!r}")
        return run["status"]

    async def cancel(self) -> str:
        said = self.said("cancel")
        seen: dict = {}

        def two_deltas(segment: Segment) -> bool:
            seen["run"] = segment.run
            return segment.names.count("thread.message.delta") >= 2

        segment = await self.stream("POST", "/v1/threads/runs", {
            "assistant_id": self.stack.assistants["slow"], "stream": True,
            "thread": {"messages": [{"role": "user", "content": said}]}}, stop_after=two_deltas)
        run = seen["run"]
        cancelled = await self.call("POST", f"/v1/threads/{run['thread_id']}/runs/{run['id']}/cancel")
        if cancelled["status"] not in ("cancelling", "cancelled"):
            raise SoakError(f"cancel answered {cancelled['status']}")
        rest = await self.stream("GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}/events",
                                 headers={"Last-Event-ID": segment.last_id})
        return self.expect_end(rest, "cancelled")

    async def client_tool(self) -> str:
        said = self.said("tool")
        first = await self.stream("POST", "/v1/threads/runs", {
            "assistant_id": self.stack.assistants["client_tool"], "stream": True,
            "thread": {"messages": [{"role": "user", "content": said}]}})
        self.expect_end(first, "requires_action")
        run = first.run
        calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        answer = f"looked up {uuid.uuid4().hex[:8]}"
        second = await self.stream("POST", f"/v1/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs", {
            "tool_outputs": [{"tool_call_id": c["id"], "output": answer} for c in calls], "stream": True})
        if answer not in second.text:
            raise SoakError(f"the reply after the tool output does not mention it: {second.text!r}")
        return self.expect_end(second, "completed")

    async def server_tool(self) -> str:
        segment = await self.stream("POST", "/v1/threads/runs", {
            "assistant_id": self.stack.assistants["server_tool"], "stream": True,
            "thread": {"messages": [{"role": "user", "content": self.said("Flights from JFK to LAX?")}]}})
        if "5h 30m" not in segment.text:
            raise SoakError(f"the flight tool's output is not in the reply: {segment.text!r}")
        return self.expect_end(segment, "completed")

    async def disconnect_and_resume(self) -> str:
        said = self.said("resume")
        first = await self.stream("POST", "/v1/threads/runs", {
            "assistant_id": self.stack.assistants["echo"], "stream": True,
            "thread": {"messages": [{"role": "user", "content": said}]}},
            stop_after=lambda s: "thread.message.delta" in s.names)
        run = first.run
        rest = await self.stream("GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}/events",
                                 headers={"Last-Event-ID": first.last_id})
        reply = f"echo: {said}"
        stored = (rest.message or {}).get("content", [{}])[0].get("text", {}).get("value")
        # The owner replays the deltas it still holds; a process that finds the run already
        # over replays the stored message instead. Either way: nothing missing, nothing twice.
        if first.text + rest.text != reply and not (rest.text == "" and stored == reply):
            raise SoakError(f"resumed text {first.text!r} + {rest.text!r} (stored {stored!r}) is not {reply!r}")
        return self.expect_end(rest, "completed")

    async def websocket(self, *, leave_early: bool = False) -> str:
        thread = await self.call("POST", "/v1/threads", {})
        base = self.rng.choice(self.stack.urls).replace("http://", "ws://")
        said = self.said("socket")
        async with connect(f"{base}/ws/threads/{thread['id']}/?token={self.stack.api_key}", open_timeout=10) as ws:
            frame = json.loads(await asyncio.wait_for(ws.recv(), OP_TIMEOUT))
            if frame.get("type") != "ready":
                raise SoakError(f"the socket opened with {frame}")
            await ws.send(json.dumps({"type": "send", "assistant_id": self.stack.assistants["echo"], "content": said}))
            run_id, last, last_data = None, None, {}
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), OP_TIMEOUT))
                if frame.get("type") == "error":
                    raise SoakError(f"the socket answered {frame}")
                if frame.get("type") == "accepted":
                    run_id = frame["run_id"]
                    if leave_early:
                        break  # the run goes on without its socket
                elif frame.get("type") == "event" and frame.get("run_id") == run_id:
                    last, last_data = frame["event"], frame.get("data") or {}
                elif frame.get("type") == "done" and frame.get("run_id") == run_id:
                    break
        if leave_early:
            return await self.poll_run(thread["id"], run_id)
        if last != "thread.run.completed":
            raise SoakError(f"the socket's run ended with {last}: {last_data.get('last_error')}")
        return "completed"

    async def poll_run(self, thread_id: str, run_id: str) -> str:
        deadline = time.monotonic() + OP_TIMEOUT
        while True:
            run = await self.call("GET", f"/v1/threads/{thread_id}/runs/{run_id}")
            if run["status"] not in ("queued", "in_progress", "cancelling"):
                if run["status"] != "completed":
                    raise SoakError(f"run {run_id} ended {run['status']}: {run['last_error']}")
                return run["status"]
            if time.monotonic() > deadline:
                raise SoakError(f"run {run_id} still {run['status']} after {OP_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)

    async def websocket_leave(self) -> str:
        return await self.websocket(leave_early=True)

    async def seed_route(self) -> str:
        body = {"messages": [{"content": self.said("seed")}], "inferenceType": "demo", "model": "echo"}
        lines = []
        async with self.http.stream("POST", self.url("/api/messages/process"), json=body) as response:
            if response.status_code != 200:
                raise SoakError(f"the seed route answered {response.status_code}")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    lines.append(line[6:])
        if not lines or lines[-1] != "[DONE]" or not any('"chunk"' in line for line in lines):
            raise SoakError(f"the seed route sent {lines[-2:]!r}")
        return "completed"
