"""The 10,000-run soak (issue 19): does one process slow down or grow as runs accumulate?

    python -m bench.soak_runs [--runs 10000] [--every 1000] [--clients 4] [--out DIR]

One Entities process (uvicorn, the bench's own settings and fake model server) serves
back-to-back short runs from ``--clients`` workers, alternately non-streamed
(createThreadAndRun, then polling the run until it ends) and streamed (``stream: true``,
read to the end). Every ``--every`` runs it pauses the runs and records the server's RSS
and the p50/p99 of ``GET /v1/threads/{id}/messages?limit=20`` (16 clients, fixed count of
requests on one thread of 25 messages). Flat rows from the first thousand to the last
mean nothing grows per run. Output: soak_runs.json in ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from bench.fakeoai import model_name
from bench.httpclient import Connection
from bench.stats import summary

RUN_TOKENS = 8
LIST_REQUESTS = 400
LIST_CLIENTS = 16
REQUEST_TIMEOUT = 30.0
POLL_SECONDS = 0.005
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}


def _body(data: dict) -> bytes:
    return json.dumps(data).encode()


async def one_run(conn: Connection, assistant_id: str, model: str, i: int, *, stream: bool) -> bool:
    """One createThreadAndRun to its end; True if it completed."""
    body = _body({"assistant_id": assistant_id, "model": model, "stream": stream,
                  "thread": {"messages": [{"role": "user", "content": f"Soak run {i}."}]}})
    response = await conn.request("POST", "/v1/threads/runs", body=body, timeout=REQUEST_TIMEOUT)
    if response.status != 200:
        return False
    if stream:
        return b"event: thread.run.completed" in response.body and response.body.endswith(b"data: [DONE]\n\n")
    run = response.json()
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while run.get("status") not in TERMINAL and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        polled = await conn.request("GET", f"/v1/threads/{run['thread_id']}/runs/{run['id']}", timeout=REQUEST_TIMEOUT)
        run = polled.json()
    return run.get("status") == "completed"


async def list_latency(port: int, headers: dict, thread_id: str) -> dict:
    """p50/p99 of the message list, LIST_REQUESTS requests from LIST_CLIENTS keep-alive clients."""
    latencies: list[float] = []
    errors = 0
    left = {"n": LIST_REQUESTS}

    async def client() -> None:
        nonlocal errors
        conn = Connection("127.0.0.1", port, dict(headers))
        try:
            while left["n"] > 0:
                left["n"] -= 1
                started = time.perf_counter()
                response = await conn.request("GET", f"/v1/threads/{thread_id}/messages?limit=20",
                                              timeout=REQUEST_TIMEOUT)
                if response.status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(LIST_CLIENTS)))
    wall = time.perf_counter() - started
    return {"ms": summary(latencies, 1000.0), "rps": len(latencies) / wall if wall else None, "errors": errors}


async def soak_runs(*, port: int, api_key: str, server, runs: int, every: int, clients: int, log=print) -> dict:
    """The soak against a running Entities at ``port`` (``server``: its bench Child, for RSS)."""
    from bench.api import EntitiesApi

    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json", "OpenAI-Beta": "assistants=v2"}
    api = EntitiesApi(port, api_key)
    model = "cloud/" + model_name(ttft_ms=0, itl_ms=0, tokens=RUN_TOKENS, chunk_tokens=1)
    assistant_id = await api.create_assistant(model)
    list_thread = (await api.create_threads(1, messages=25))[0]
    await list_latency(port, headers, list_thread)  # warm up
    rows = [{"runs": 0, "rss_mb": server.rss_bytes() / 2**20, "list": await list_latency(port, headers, list_thread),
             "load_avg": os.getloadavg()}]
    done = {"n": 0, "failed": 0}
    started = time.monotonic()
    conns = [Connection("127.0.0.1", port, dict(headers)) for _ in range(clients)]
    try:
        while done["n"] < runs:
            target = min(done["n"] + every, runs)
            batch_started = time.monotonic()

            async def worker(conn: Connection) -> None:
                while done["n"] < target:
                    i = done["n"]
                    done["n"] += 1
                    try:
                        ok = await one_run(conn, assistant_id, model, i, stream=bool(i % 2))
                    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                        ok = False
                    done["failed"] += not ok

            await asyncio.gather(*(worker(conn) for conn in conns))
            batch_seconds = time.monotonic() - batch_started
            await api.wait_idle(60.0)
            row = {"runs": done["n"], "rss_mb": server.rss_bytes() / 2**20,
                   "list": await list_latency(port, headers, list_thread),
                   "runs_per_s": (target - rows[-1]["runs"]) / batch_seconds if batch_seconds else None,
                   "failed_so_far": done["failed"], "load_avg": os.getloadavg()}
            rows.append(row)
            log(f"  soak {row['runs']:>6} runs: RSS {row['rss_mb']:.0f} MB, list p50 {row['list']['ms']['p50']:.1f} "
                f"/ p99 {row['list']['ms']['p99']:.1f} ms, {row['runs_per_s']:.0f} runs/s, load {row['load_avg'][0]:.1f}")
    finally:
        for conn in conns:
            await conn.close()
        await api.close()
    return {"runs": runs, "every": every, "clients": clients, "failed": done["failed"], "run_tokens": RUN_TOKENS,
            "seconds": time.monotonic() - started, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.soak_runs`: start the stack, soak, write soak_runs.json."""
    from datetime import datetime, timezone

    from bench.procs import install_handlers
    from bench.stack import ROOT, Stack

    parser = argparse.ArgumentParser(prog="python -m bench.soak_runs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "bench" / "results" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    install_handlers()
    stack = Stack(out_dir=out, compare=False).start()
    try:
        entities = stack.entities()
        result = asyncio.run(soak_runs(port=entities.port, api_key=stack.api_key, server=entities, runs=args.runs,
                                       every=max(1, min(args.every, args.runs)), clients=args.clients))
    finally:
        stack.close()
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_end": os.getloadavg()}
    (out / "soak_runs.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    print(f"written: {out / 'soak_runs.json'}")
    return 0 if result["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
