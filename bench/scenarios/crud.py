"""S4/S5 request rates: run creation (non-streaming), message list and message create,
alone and while streaming runs are in flight; a raw-ASGI `GET /hello` gives the Python floor,
and a trivial Django view in the same Entities process (``bench/floor_urls.py``, sync and
async) gives Django's floor: what the list request would cost if Entities' work were free.

Each measurement is a closed loop of ``concurrency`` workers on keep-alive connections,
bounded both in requests and in seconds.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.fakeoai import model_name
from bench.httpclient import Connection
from bench.measure import Meter
from bench.scenarios import Context, targets
from bench.scenarios.ladder import run_step
from bench.stats import summary

REQUEST_TIMEOUT = 30.0
LIST_THREAD_MESSAGES = 25
MESSAGE_THREADS = 64


async def closed_loop(port: int, headers: dict, make, *, concurrency: int, max_requests: int, max_seconds: float,
                      watched: dict) -> dict:
    """``make(i)`` → (method, path, body, expected status); ``concurrency`` workers until a bound is hit."""
    counter = {"next": 0, "errors": 0, "error": None}
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + max_seconds

    async def worker() -> None:
        conn = Connection("127.0.0.1", port, dict(headers))
        try:
            while counter["next"] < max_requests and loop.time() < stop_at:
                i = counter["next"]
                counter["next"] += 1
                method, path, body, expect = make(i)
                t0 = time.perf_counter()
                try:
                    response = await conn.request(method, path, body=body, timeout=REQUEST_TIMEOUT)
                    ok = response.status == expect
                    if not ok and counter["error"] is None:
                        counter["error"] = f"HTTP {response.status}: {response.body[:200]!r}"
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    ok = False
                    counter["error"] = counter["error"] or f"{type(exc).__name__}: {exc}"
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    counter["errors"] += 1
        finally:
            await conn.close()

    meter = Meter(watched)
    async with meter:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = meter.result["wall_s"]
    return {"concurrency": concurrency, "requests": len(latencies) + counter["errors"], "ok": len(latencies),
            "errors": counter["errors"], "first_error": counter["error"],
            "rps": len(latencies) / wall if wall else None, "latency_ms": summary(latencies, 1000.0),
            "cpu_pct": meter.result["cpu_pct"], "others_pct": meter.result["others_pct"]}


def floor_ratios(alone: dict) -> dict:
    """req/s of the message list against the floors (1.0: as fast as the floor)."""
    def rate(name):
        return (alone.get(name) or {}).get("rps")

    def ratio(a, b):
        return rate(a) / rate(b) if rate(a) and rate(b) else None

    return {"list_vs_django_floor": ratio("list_messages_c16", "django_floor_c16"),
            "list_vs_django_floor_async": ratio("list_messages_c16", "django_floor_async_c16"),
            "django_floor_vs_raw_asgi": ratio("django_floor_c16", "raw_asgi_hello_c16"),
            "list_vs_raw_asgi": ratio("list_messages_c16", "raw_asgi_hello_c16")}


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


async def run_crud(ctx: Context, log) -> dict:
    plan = ctx.plan
    stack, api = ctx.stack, ctx.api
    entities = stack.entities()
    headers = {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json",
               "OpenAI-Beta": "assistants=v2"}
    watched = {"server": entities}
    list_thread = (await api.create_threads(1, messages=LIST_THREAD_MESSAGES))[0]
    message_threads = await api.create_threads(MESSAGE_THREADS)
    bound = {"max_requests": plan.crud_requests, "max_seconds": plan.crud_seconds}

    def hello(_i):
        return "GET", "/hello", None, 200

    def django_floor(_i):
        return "GET", "/__bench__/floor", None, 200

    def django_floor_async(_i):
        return "GET", "/__bench__/floor-async", None, 200

    def list_messages(_i):
        return "GET", f"/v1/threads/{list_thread}/messages?limit=20", None, 200

    def create_message(i):
        return ("POST", f"/v1/threads/{message_threads[i % MESSAGE_THREADS]}/messages",
                _json({"role": "user", "content": f"Benchmark message {i}."}), 200)

    run_model = "cloud/" + model_name(ttft_ms=0, itl_ms=0, tokens=16, chunk_tokens=1)

    async def create_runs(count: int, seconds: float) -> dict:
        """Non-streaming run creation, one fresh thread per run (one active run per thread)."""
        threads = ctx.supply.take(count)

        def create_run(i):
            return ("POST", f"/v1/threads/{threads[i]}/runs",
                    _json({"assistant_id": ctx.assistant_id, "model": run_model}), 200)

        return await closed_loop(entities.port, headers, create_run, concurrency=16, max_requests=count,
                                 max_seconds=seconds, watched=watched)

    out: dict = {"alone": {}, "under_load": {}}
    out["alone"]["raw_asgi_hello_c16"] = await closed_loop(stack.fake.port, {}, hello, concurrency=16,
                                                           watched={"fakeoai": stack.fake}, **bound)
    out["alone"]["django_floor_c16"] = await closed_loop(entities.port, headers, django_floor, concurrency=16,
                                                         watched=watched, **bound)
    out["alone"]["django_floor_async_c16"] = await closed_loop(entities.port, headers, django_floor_async,
                                                               concurrency=16, watched=watched, **bound)
    for c in (16, 64):
        out["alone"][f"list_messages_c{c}"] = await closed_loop(entities.port, headers, list_messages, concurrency=c,
                                                                watched=watched, **bound)
    out["alone"]["create_message_c16"] = await closed_loop(entities.port, headers, create_message, concurrency=16,
                                                           watched=watched, **bound)
    await ctx.supply.ensure(plan.run_creates)
    out["alone"]["create_run_c16"] = await create_runs(plan.run_creates, plan.crud_seconds * 2)
    out["alone"]["create_run_c16"]["all_runs_finished"] = await api.wait_idle(60.0)
    out["ratios"] = floor_ratios(out["alone"])
    log("  CRUD alone done")

    # The same requests while streams run: streaming must not starve the loop or the DB thread.
    target = next(t for t in targets(ctx) if t.key == "C")
    n = plan.load_streams
    seconds = plan.crud_seconds
    hold_tokens = int((3 * seconds + 4) * 1000 / plan.ladder_itl_ms)
    params = {"ttft_ms": plan.ladder_ttft_ms, "itl_ms": plan.ladder_itl_ms, "tokens": hold_tokens, "chunk_tokens": 1}
    await ctx.supply.ensure(n + plan.run_creates)

    async def during() -> None:
        await asyncio.sleep(n / plan.ramp_per_s + 1.0)  # all streams running
        load = out["under_load"]
        load["list_messages_c16"] = await closed_loop(entities.port, headers, list_messages, concurrency=16,
                                                      watched=watched, **bound)
        load["create_message_c16"] = await closed_loop(entities.port, headers, create_message, concurrency=16,
                                                       watched=watched, **bound)
        load["create_run_c16"] = await create_runs(plan.run_creates, seconds)

    background = await run_step(ctx, target, n, params, during=during)
    out["under_load"]["streams"] = {k: background[k] for k in ("n", "ok", "failed", "errors", "itl_ms", "ttft_ms")}
    out["under_load"]["streams"]["params"] = params
    await api.wait_idle(60.0)
    for name, alone in out["alone"].items():
        loaded = out["under_load"].get(name)
        if loaded and alone.get("latency_ms", {}).get("p99") and loaded["latency_ms"]["p99"] is not None:
            loaded["p99_vs_alone"] = loaded["latency_ms"]["p99"] / alone["latency_ms"]["p99"]
            loaded["rps_vs_alone"] = (loaded["rps"] or 0) / alone["rps"] if alone["rps"] else None
    log("  CRUD under load done")
    return out
