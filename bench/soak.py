"""A soak: many mixed clients against a real Entities process for a while, then the store's invariants.

    python -m bench.soak [--duration 120] [--clients 16] [--scale] [--seed 1] [--json PATH]

Entities runs as uvicorn subprocesses on loopback with a database made for the soak (a
temporary SQLite file, or with --scale the PostgreSQL database `entities_soak`, Redis
database 12 and two server processes, so runs are watched and cancelled across processes).
Replies come from the fake OpenAI server (testsupport.fake_openai) and the demo backend.
Each client loops over mixed operations — SSE streams, polling, cancels, client-side tool
round trips, server-side tools, disconnects and resumes, WebSocket chats, the seed route —
every user message unique. At the end every run must be terminal and the database must
satisfy testsupport.invariants. The JSON summary goes to stdout and --json; the exit code
is 0 only when no operation failed and every invariant held.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.procs import PYTHON, Child, free_port, install_handlers, run_checked

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_DATABASE = "entities_soak"
REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own: the soak flushes it
OP_TIMEOUT = 60.0
DRAIN_TIMEOUT = 30.0
FAKE_RESET_SECONDS = 30.0
LOOKUP_TOOL = {"type": "function", "function": {"name": "soak_lookup", "description": "Look a thing up.",
                                                "parameters": {"type": "object", "properties": {}}}}
FLIGHT_TOOL = {"type": "function", "function": {
    "name": "get_flight_times", "description": "Flight times between two airports.",
    "parameters": {"type": "object", "properties": {"departure": {"type": "string"}, "arrival": {"type": "string"}},
                   "required": ["departure", "arrival"]}}}


class SoakError(Exception):
    """An operation saw something a correct server never does."""


@dataclass
class Stack:
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


OPERATIONS = {  # name: weight
    "stream_reply": 3, "poll_reply": 2, "cancel": 2, "client_tool": 2, "server_tool": 1,
    "disconnect_and_resume": 2, "websocket": 2, "websocket_leave": 1, "seed_route": 1,
}


@dataclass
class Tally:
    ok: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


async def client_loop(stack: Stack, number: int, seed: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(seed * 1000 + number)
    client = Client(stack, rng)
    names, weights = list(OPERATIONS), list(OPERATIONS.values())
    try:
        while time.monotonic() < deadline:
            name = rng.choices(names, weights)[0]
            try:
                await asyncio.wait_for(getattr(client, name)(), OP_TIMEOUT)
                tally.ok[name] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                tally.failed[name] += 1
                tally.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    finally:
        await client.http.aclose()


# --- bringing Entities up and down ---------------------------------------------------------

def _pg(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)


def server_env(args, workdir: Path, fake_url: str) -> tuple[dict, str]:
    secret = secrets.token_urlsafe(50)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "DEBUG": "0", "SECRET_KEY": secret, "PYTHONUNBUFFERED": "1",
        "OPENAI_BASE_URL": fake_url, "OPENAI_API_KEY": "soak", "DEMO_TOKEN_DELAY": "0.005",
        # The soak measures correctness under load, not the throttle.
        "ENTITIES_THROTTLE_KEY_RATE": "1000000/min", "ENTITIES_THROTTLE_USER_RATE": "1000000/min",
        "ENTITIES_MAX_ACTIVE_RUNS_PER_USER": "100000",
        # Production's engine timings unless asked, whatever the caller's environment (the test
        # suite shortens them for its own servers).
        "ENTITIES_RUN_LEASE_SECONDS": str(args.lease_seconds), "ENTITIES_SWEEP_INTERVAL_SECONDS": "5",
    })
    if args.scale:
        _pg(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg(f'CREATE DATABASE "{PG_DATABASE}"')
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env.update({"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}", "REDIS_URL": REDIS_URL})
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'soak.sqlite3'}"
    return env, secret


def start_stack(args, workdir: Path, fake_url: str) -> tuple[Stack, list[Child]]:
    env, secret = server_env(args, workdir, fake_url)
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, timeout=300)
    key = run_checked([PYTHON, "manage.py", "create_api_key", "soak"], env=env, cwd=ROOT, timeout=120)
    servers = []
    for number in range(2 if args.scale else 1):
        port = free_port()
        argv = [PYTHON, "-m", "uvicorn", "entities_project.asgi:application", "--host", "127.0.0.1", "--port",
                str(port), "--no-access-log", "--log-level", "warning", "--ws-per-message-deflate", "false"]
        servers.append(Child(f"entities-{number}", argv, env=env, cwd=ROOT, log_dir=workdir, port=port))
    for server in servers:
        server.wait_ready("/healthz")
    stack = Stack(urls=[s.url for s in servers], api_key=key.strip().splitlines()[-1],
                  database_url=env["DATABASE_URL"], secret_key=secret)
    return stack, servers


async def make_assistants(stack: Stack) -> None:
    client = Client(stack, random.Random(0))
    specs = {"echo": {"model": "cloud/fake-model"}, "slow": {"model": "demo/slow"},
             "client_tool": {"model": "demo/tools", "tools": [LOOKUP_TOOL]},
             "server_tool": {"model": "demo/tools", "tools": [FLIGHT_TOOL]}}
    for name, spec in specs.items():
        stack.assistants[name] = (await client.call("POST", "/v1/assistants", {"name": f"soak {name}", **spec}))["id"]
    await client.http.aclose()


async def soak(stack: Stack, args, fake) -> Tally:
    await make_assistants(stack)
    tally = Tally()
    deadline = time.monotonic() + args.duration

    async def keep_fake_small() -> None:
        while True:
            await asyncio.sleep(FAKE_RESET_SECONDS)
            fake.reset()  # its request log would grow for the whole soak otherwise

    trimmer = asyncio.create_task(keep_fake_small())
    try:
        await asyncio.gather(*(client_loop(stack, n, args.seed, deadline, tally) for n in range(args.clients)))
    finally:
        trimmer.cancel()
    return tally


def check_store(stack: Stack) -> tuple[dict, list[str], list[str]]:
    """(runs by status, invariant violations, runs still active after the drain) of the soak database."""
    os.environ.update({"DATABASE_URL": stack.database_url, "SECRET_KEY": stack.secret_key, "DEBUG": "0",
                       "DJANGO_SETTINGS_MODULE": "entities_project.settings"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from conversations.models import Run
    from testsupport.invariants import store_violations, wait_for_terminal_runs

    stuck = [f"{r.id} {r.status}" for r in wait_for_terminal_runs(timeout=DRAIN_TIMEOUT)]
    by_status = dict(Counter(Run.objects.values_list("status", flat=True)))
    return by_status, store_violations(unique_user_texts=True), stuck


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load (default 120)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--scale", action="store_true", help="PostgreSQL + Redis and two server processes")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clients' choices")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--lease-seconds", type=float, default=15.0,
                        help="ENTITIES_RUN_LEASE_SECONDS of the servers (default 15, production's)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from testsupport.fake_openai import FakeOpenAIServer

    install_handlers()
    workdir = Path(tempfile.mkdtemp(prefix="entities-soak-"))
    fake = FakeOpenAIServer().start()
    servers: list[Child] = []
    started = time.monotonic()
    try:
        stack, servers = start_stack(args, workdir, fake.url)
        load_started = time.monotonic()
        tally = asyncio.run(soak(stack, args, fake))
        load_seconds = time.monotonic() - load_started
        by_status, violations, stuck = check_store(stack)
        alive = [s.name for s in servers if s.popen.poll() is None]
    finally:
        logs = {s.name: s.log_tail(20) for s in servers}
        for server in servers:
            server.stop()
        fake.stop()
        if args.scale:
            try:
                _pg(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        shutil.rmtree(workdir, ignore_errors=True)

    errors = sum(tally.failed.values())
    summary = {
        "duration_s": round(load_seconds, 1), "total_s": round(time.monotonic() - started, 1),
        "clients": args.clients, "seed": args.seed, "lease_seconds": args.lease_seconds,
        "database": "postgresql" if args.scale else "sqlite",
        "servers": len(servers), "servers_alive_at_end": len(alive),
        "runs": sum(by_status.values()), "runs_by_status": by_status,
        "operations": {name: {"ok": tally.ok[name], "failed": tally.failed[name]} for name in OPERATIONS},
        "errors": errors, "first_errors": tally.errors[:20],
        "invariants_held": not violations and not stuck, "violations": violations[:50], "stuck_runs": stuck[:50],
    }
    if errors or violations or len(alive) != len(servers):
        summary["server_logs"] = logs
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0 if summary["invariants_held"] and not errors and len(alive) == len(servers) else 1


if __name__ == "__main__":
    sys.exit(main())
