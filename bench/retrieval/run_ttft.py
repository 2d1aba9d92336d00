"""`python -m bench.retrieval.run_ttft`: the time file_search adds to a streamed run's first token.

Brings up, on 127.0.0.1: the tool-round fake model (``bench.retrieval.toolmodel``), a fresh
SQLite database with vector stores of each ``--sizes`` chunks (``bench.retrieval.fill``),
and Entities under uvicorn (the harness's production flags, ``bench.stack``). Then streams
runs (`POST /v1/threads/{id}/runs`, `stream: true`) one at a time, the arms interleaved in
a shuffled order each round, each run on a fresh thread whose user message is a search
query, and times request written → first `thread.message.delta` at the client:

- ``no_tool``: the model answers at once (no tool round: what a plain run costs);
- ``control_function``: the model calls ``get_flight_times``, a registered server-side
  function that answers from a table, then answers: the model's own tool round;
- ``file_search_<N>``: the model calls ``file_search`` over a store of N chunks, then
  answers. ``file_search_<N>`` minus ``control_function`` is what the search adds;
- ``file_search_<smallest N>_top1``: the same with ``max_num_results: 1`` (20 by default):
  how much of it is the size of the results (step deltas, the sources sent to the model).

Writes one JSON document (raw per-run times, summaries, differences, load averages and
``uptime``) to --out. Never a test: bench/tests only checks that a tiny run completes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.api import EntitiesApi
from bench.httpclient import Connection
from bench.procs import PYTHON, free_port, install_handlers, run_checked
from bench.stack import BENCH_USER, ROOT, Stack, Tenant
from bench.stats import summary
from bench.streams import _on_run_event, _stream_sse, run_body

MODEL = "cloud/toolbench"
FLIGHTS_TOOL = {"type": "function", "server_side": True, "function": {
    "name": "get_flight_times", "description": "Get the flight time between two airports, given their IATA codes.",
    "parameters": {"type": "object", "properties": {"departure": {"type": "string"}, "arrival": {"type": "string"}},
                   "required": ["departure", "arrival"]}}}
FILL_TIMEOUT = 1800.0
STREAM_TIMEOUT = 60.0


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _load() -> dict:
    return {"loadavg": os.getloadavg(), "uptime": _uptime()}


async def _assistants(api: EntitiesApi, stores: dict[str, str]) -> dict[str, str]:
    """The assistant of each arm (same model and instructions; only the tools differ)."""
    base = {"model": MODEL, "name": "run-ttft", "instructions": "You are a benchmark."}
    arms = {"no_tool": base, "control_function": {**base, "tools": [FLIGHTS_TOOL]}}
    for size, store_id in stores.items():
        arms[f"file_search_{size}"] = {**base, "tools": [{"type": "file_search"}],
                                       "tool_resources": {"file_search": {"vector_store_ids": [store_id]}}}
    # The smallest store again with one result instead of 20: what the results' size costs
    # (the step's results streamed to the client, the sources sent back to the model).
    smallest = min(stores, key=int)
    arms[f"file_search_{smallest}_top1"] = {**arms[f"file_search_{smallest}"],
                                            "tools": [{"type": "file_search", "file_search": {"max_num_results": 1}}]}
    return {arm: (await api.call("POST", "/v1/assistants", body))["id"] for arm, body in arms.items()}


async def _threads(api: EntitiesApi, queries: list[str], count: int) -> list[str]:
    made = []
    for i in range(count):
        body = {"messages": [{"role": "user", "content": queries[i % len(queries)]}]}
        made.append((await api.call("POST", "/v1/threads", body))["id"])
    return made


async def _timed_run(conn: Connection, thread_id: str, assistant_id: str, tokens: int, marks: dict):
    """One streamed run (``bench.streams.stream_run``), also noting when each kind of event first came:
    ``marks`` gets event name → seconds since the request was written (filled in once it ends)."""
    seen: dict[str, float] = {}

    def handle(read, event, payload, t) -> None:
        key = event or ""
        if key == "thread.run.step.created" or key == "thread.run.step.completed":
            key += ":" + ("tool_calls" if b'"tool_calls"' in payload else "message_creation")
        seen.setdefault(key, t)
        _on_run_event(read, event, payload, t)

    result = await _stream_sse(conn, f"/v1/threads/{thread_id}/runs", run_body(assistant_id, MODEL), tokens,
                               STREAM_TIMEOUT, handle)
    if result.ok and result.times:
        start = result.times[0] - result.ttft
        marks.update({k: t - start for k, t in seen.items()})
    return result


def _phases(marks: list[dict]) -> dict:
    """Median ms from the request to the first event of each kind, in the order they come."""
    keys = sorted({k for m in marks for k in m}, key=lambda k: statistics.median(m[k] for m in marks if k in m))
    return {k: round(statistics.median(m[k] for m in marks if k in m) * 1000, 2) for k in keys}


async def _check(api: EntitiesApi, thread_id: str) -> dict:
    """What the last run of an arm did: its steps and, for a tool round, the call's type and results."""
    run = (await api.call("GET", f"/v1/threads/{thread_id}/runs"))["data"][0]
    steps = (await api.call("GET", f"/v1/threads/{thread_id}/runs/{run['id']}/steps?order=asc"))["data"]
    seen = {"status": run["status"], "steps": [s["type"] for s in steps]}
    calls = [c for s in steps if s["type"] == "tool_calls" for c in s["step_details"]["tool_calls"]]
    if calls:
        seen["tool_call"] = calls[0]["type"]
        if calls[0]["type"] == "file_search":
            seen["results"] = len(calls[0]["file_search"]["results"])
    return seen


async def measure(port: int, api_key: str, filled: dict, *, runs: int, warmup: int, tokens: int,
                  seed: int = 11) -> dict:
    """Interleaved streamed runs of every arm; raw first-delta times in ms and their summaries."""
    api = EntitiesApi(port, api_key)
    try:
        assistants = await _assistants(api, filled["stores"])
        arms = list(assistants)
        threads = {arm: await _threads(api, filled["queries"], warmup + runs) for arm in arms}
        headers = {"Authorization": f"Bearer {api_key}", "OpenAI-Beta": "assistants=v2"}
        connections = {arm: Connection("127.0.0.1", port, headers) for arm in arms}
        times: dict[str, list[float]] = {arm: [] for arm in arms}
        errors: dict[str, list[str]] = {arm: [] for arm in arms}
        events: dict[str, list[dict]] = {arm: [] for arm in arms}
        rng = random.Random(seed)
        started = time.monotonic()
        for i in range(warmup + runs):
            order = arms[:]
            rng.shuffle(order)
            for arm in order:
                marks: dict = {}
                result = await _timed_run(connections[arm], threads[arm][i], assistants[arm], tokens, marks)
                if not result.ok:
                    errors[arm].append(result.error or "no first delta")
                elif i >= warmup:
                    times[arm].append(round(result.ttft * 1000, 2))
                    events[arm].append(marks)
        elapsed = time.monotonic() - started
        for conn in connections.values():
            await conn.close()
        checks = {arm: await _check(api, threads[arm][-1]) for arm in arms}
    finally:
        await api.close()
    summaries = {arm: {k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary(t).items()}
                 for arm, t in times.items()}
    control = summaries["control_function"]
    added = {arm: {k: round(s[k] - control[k], 2) for k in ("p50", "p95", "mean") if s["n"] and control["n"]}
             for arm, s in summaries.items() if arm.startswith("file_search_")}
    tool_round = {k: round(control[k] - summaries["no_tool"][k], 2) for k in ("p50", "p95", "mean")
                  if control["n"] and summaries["no_tool"]["n"]}
    return {"arms": arms, "runs_per_arm": runs, "warmup_rounds": warmup, "reply_tokens": tokens,
            "measuring_seconds": round(elapsed, 1), "ttft_ms": summaries,
            "file_search_added_ms": added, "model_tool_round_ms": tool_round,
            "event_phases_ms": {arm: _phases(m) for arm, m in events.items() if m},
            "errors": {arm: e[:5] for arm, e in errors.items() if e}, "checks": checks, "raw_ttft_ms": times}


def run(*, sizes: str, runs: int, warmup: int, tokens: int, queries: int, direct: int = 50) -> dict:
    """The whole scenario: bring the stack up, fill the stores, measure, take everything down."""
    tmp = Path(tempfile.mkdtemp(prefix="entities-run-ttft-"))
    stack = Stack(out_dir=tmp, compare=False, tmp=tmp)
    report: dict = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_at_start": _load()}
    try:
        fake_port = free_port()
        stack.spawn("fakeoai", [PYTHON, "-m", "bench.retrieval.toolmodel", "--port", str(fake_port),
                                "--tokens", str(tokens)], port=fake_port, ready_path="/stats")
        database = stack.new_database(postgres=False, name="run_ttft")
        # A thread's first run asks the model for a title after it completes: off, so no title
        # request of the previous run overlaps the next run's timing.
        # Plain Entities settings, whatever the harness's defaults add (the floor URLs of S4).
        env = stack.entities_env(database, redis=False, ENTITIES_AUTO_TITLE="0",
                                 DJANGO_SETTINGS_MODULE="entities_project.settings", ENTITIES_BENCH_FLOOR="0")
        stack.tenants["uvicorn"] = Tenant("uvicorn", database, env, stack.prepare(database, env))
        t0 = time.perf_counter()
        out = run_checked([PYTHON, "-m", "bench.retrieval.fill", "--owner", BENCH_USER, "--sizes", sizes,
                           "--queries", str(queries), "--direct", str(direct)], env=env, cwd=ROOT, timeout=FILL_TIMEOUT)
        filled = json.loads(out.strip().splitlines()[-1])
        report["fill_seconds"] = round(time.perf_counter() - t0, 1)
        report["stores"] = {size: {"id": sid, "chunks": int(size)} for size, sid in filled["stores"].items()}
        # The same tool call made directly, in one process, before the server starts.
        report["direct_tool_call_ms"] = filled["direct_tool_call_ms"]
        child = stack.start_entities("uvicorn")
        report["command"] = stack.commands[child.name]
        report.update(asyncio.run(measure(child.port, stack.api_key, filled, runs=runs, warmup=warmup,
                                          tokens=tokens)))
        with urllib.request.urlopen(stack.fake.url + "/stats", timeout=5) as answer:
            report["model_turns"] = json.loads(answer.read())
    finally:
        report["load_at_end"] = _load()
        stack.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval.run_ttft")
    parser.add_argument("--out", default="docs/bench/run-ttft.json")
    parser.add_argument("--sizes", default="1000,10000", help="store sizes (chunks), one file_search arm each")
    parser.add_argument("--runs", type=int, default=60, help="measured runs per arm")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds first (model load, store cache)")
    parser.add_argument("--tokens", type=int, default=8, help="tokens of the streamed answer")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--direct", type=int, default=50, help="direct run_file_search calls per store (0: none)")
    args = parser.parse_args(argv)
    install_handlers()
    from bench.report import machine_info

    report = {"machine": machine_info(), "scenario": "run_ttft", "database": "sqlite",
              **run(sizes=args.sizes, runs=args.runs, warmup=args.warmup, tokens=args.tokens, queries=args.queries,
                  direct=args.direct)}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=2)
    summary_only = {k: v for k, v in report.items() if k != "raw_ttft_ms"}
    json.dump(summary_only, sys.stdout, indent=2)
    print()
    return 0 if not report.get("errors") else 1


if __name__ == "__main__":
    sys.exit(main())
