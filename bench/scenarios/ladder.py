"""S3 the concurrency ladder: N simultaneous streaming runs at 20 tokens/s each.

Per step and target: success rate, TTFT, inter-token time (pooled over every gap of every
stream), lateness (how far behind the model's schedule each token arrived, counted from
the stream's first token: bursts after a stall hide in the gaps but not here), CPU per
delivered token of each process, peak RSS, and the client's own CPU and loop lag (evidence
that the load generator kept up). Streams start spread over ``N / ramp_per_s`` seconds;
each holds ``ladder_tokens`` tokens at ``ladder_itl_ms``.
"""

from __future__ import annotations

import asyncio

from bench.measure import Meter, per_token_us
from bench.scenarios import Context, Target, errors_of, targets
from bench.stats import minus, rounds_summary

STEP_SLACK_SECONDS = 60.0


def ladder_params(ctx: Context) -> dict:
    plan = ctx.plan
    return {"ttft_ms": plan.ladder_ttft_ms, "itl_ms": plan.ladder_itl_ms, "tokens": plan.ladder_tokens,
            "chunk_tokens": 1}


async def run_step(ctx: Context, target: Target, n: int, params: dict | None = None, *, during=None) -> dict:
    """One step: ``n`` streams against ``target``; ``during`` is awaited while they run (profiling)."""
    plan = ctx.plan
    params = params or ladder_params(ctx)
    ramp = n / plan.ramp_per_s
    timeout = (params["ttft_ms"] + params["itl_ms"] * params["tokens"]) / 1000.0 + ramp + STEP_SLACK_SECONDS
    if target.server is not None:
        await ctx.tenant(target.server).supply.ensure(n)
    watched = {"fakeoai": ctx.stack.fake}
    if target.child is not None:
        watched["server"] = target.child
    connections = [target.connection() for _ in range(n)] if target.kind != "ws" else [None] * n

    async def one(i: int):
        await asyncio.sleep(i / plan.ramp_per_s)
        return await target.stream(ctx, connections[i], params, timeout)

    meter = Meter(watched)
    try:
        async with meter:
            tasks = [asyncio.create_task(one(i)) for i in range(n)]
            extra = asyncio.create_task(during()) if during is not None else None
            done, pending = await asyncio.wait(tasks, timeout=timeout + ramp + 10)
            for task in pending:
                task.cancel()
            if extra is not None:
                await extra
    finally:
        await asyncio.gather(*(c.close() for c in connections if c is not None), return_exceptions=True)
    results = [t.result() for t in tasks if t.done() and not t.cancelled() and t.exception() is None]
    gaps = [g for r in results if r.ok for g in r.gaps()]
    late = [x for r in results if r.ok for x in r.lateness(params["itl_ms"] / 1000.0)]
    tokens = sum(r.deltas for r in results)
    usage = meter.result
    return {
        "n": n, "target": target.key, "label": target.label, "ramp_s": ramp,
        "ok": sum(r.ok for r in results), "failed": n - sum(r.ok for r in results),
        "success_rate": sum(r.ok for r in results) / n if n else None,
        "errors": errors_of(results) + (["(stream task did not finish in time)"] if len(results) < n else []),
        "tokens": tokens, "tokens_per_s": tokens / usage["wall_s"] if usage["wall_s"] else None,
        "ttft_ms": rounds_summary([[r.ttft for r in results if r.ok and r.ttft is not None]], 1000.0),
        "itl_ms": rounds_summary([gaps], 1000.0),
        "lateness_ms": rounds_summary([late], 1000.0),
        "cpu_us_per_token": per_token_us(usage["cpu_s"], tokens),
        "usage": usage,
    }


async def run_ladder(ctx: Context, log) -> dict:
    plan = ctx.plan
    chosen = targets(ctx, other_servers=True)
    main = [t for t in chosen if t.key in ("A", "B", "C")]
    others = [t for t in chosen if t.key not in ("A", "B", "C")]
    steps: dict[int, dict[str, list[dict]]] = {n: {} for n in plan.ladder}
    compare = plan.compare_step if plan.compare_step in plan.ladder else plan.ladder[0]
    for r in range(plan.ladder_rounds):
        for n in plan.ladder:
            for target in main + (others if n == compare else []):
                row = await run_step(ctx, target, n)
                steps[n].setdefault(target.key, []).append(row)
                log(f"  ladder round {r + 1} N={n} {target.key}: ok {row['ok']}/{n}, "
                    f"ITL p99 {_fmt(row['itl_ms']['p99'])} ms, server CPU "
                    f"{_fmt(row['usage']['cpu_pct'].get('server'))}%, client CPU {_fmt(row['usage']['cpu_pct']['client'])}%")
                if target.server is not None:
                    await ctx.tenant(target.server).api.wait_idle(30.0)
    out = {"params": ladder_params(ctx), "rounds": plan.ladder_rounds, "ramp_per_s": plan.ramp_per_s, "steps": {}}
    for n, by_target in steps.items():
        merged = {key: _merge(rows) for key, rows in by_target.items()}
        base = merged["A"]
        for key, entry in merged.items():
            if key != "A":
                entry["added_itl_ms"] = minus(entry["itl_ms"], base["itl_ms"], keys=("p50", "p95", "p99", "mean"))
                entry["added_ttft_ms"] = minus(entry["ttft_ms"], base["ttft_ms"], keys=("p50", "p95", "p99", "mean"))
                entry["added_lateness_ms"] = minus(entry["lateness_ms"], base["lateness_ms"],
                                                   keys=("p50", "p95", "p99", "mean"))
        out["steps"][str(n)] = merged
    return out


def _merge(rows: list[dict]) -> dict:
    """Rounds of one step and target: worst success, median of round values for the rest."""
    import statistics

    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    first = rows[0]
    merged = {
        "n": first["n"], "label": first["label"], "rounds": len(rows), "ramp_s": first["ramp_s"],
        "ok": sum(r["ok"] for r in rows), "failed": sum(r["failed"] for r in rows),
        "success_rate": min(r["success_rate"] for r in rows),
        "errors": [e for r in rows for e in r["errors"]][:5],
        "tokens": sum(r["tokens"] for r in rows),
        "tokens_per_s": med([r["tokens_per_s"] for r in rows]),
    }
    for metric in ("ttft_ms", "itl_ms", "lateness_ms"):
        merged[metric] = {k: med([r[metric].get(k) for r in rows]) for k in ("p50", "p95", "p99", "mean", "max")}
    names = rows[0]["cpu_us_per_token"].keys()
    merged["cpu_us_per_token"] = {name: med([r["cpu_us_per_token"].get(name) for r in rows]) for name in names}
    merged["cpu_pct"] = {name: med([r["usage"]["cpu_pct"].get(name) for r in rows]) for name in names}
    merged["peak_rss_mb"] = {name: max(r["usage"]["peak_rss_mb"].get(name, 0) for r in rows)
                             for name in rows[0]["usage"]["peak_rss_mb"]}
    merged["client_loop_lag_ms"] = {k: med([r["usage"]["client_loop_lag_ms"][k] for r in rows]) for k in ("p50", "p99")}
    merged["others_pct"] = med([r["usage"]["others_pct"] for r in rows])
    return merged


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.1f}"


async def run_headroom(ctx: Context, log, ladder: dict | None) -> dict:
    """The fake model server's own ceiling, and whether it keeps the heaviest step's rate ×1 and ×5.

    The client only counts events here (no JSON), so the numbers are the fake's — or, on a
    machine this small, a lower bound set by fake and client together.
    """
    from bench.fakeoai import model_name
    from bench.streams import chat_body

    plan = ctx.plan
    fake = ctx.stack.fake

    async def blast(streams: int, params: dict, seconds_cap: float) -> dict:
        model = model_name(**params)
        body = chat_body(model)
        counts = [0] * streams
        span = [float("inf"), 0.0]  # first and last event seen, for the rate while streaming
        connections = [fake_connection() for _ in range(streams)]

        async def one(i: int) -> None:
            def on_data(data: bytes, t: float) -> None:
                counts[i] += data.count(b"\n\n")
                if t < span[0]:
                    span[0] = t
                if t > span[1]:
                    span[1] = t

            await connections[i].request("POST", "/v1/chat/completions", body=body, on_data=on_data,
                                         headers={"Content-Type": "application/json"}, timeout=seconds_cap)

        meter = Meter({"fakeoai": fake})
        async with meter:
            outcome = await asyncio.gather(*(one(i) for i in range(streams)), return_exceptions=True)
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        events = sum(counts) - 3 * streams  # finish, usage and [DONE] frames are not tokens
        wall = span[1] - span[0] if span[1] > span[0] else meter.result["wall_s"]
        return {"streams": streams, "params": params, "failed": sum(isinstance(o, BaseException) for o in outcome),
                "chunks": events, "streaming_s": wall, "chunks_per_s": events / wall if wall else None,
                "cpu_pct": meter.result["cpu_pct"], "client_loop_lag_ms": meter.result["client_loop_lag_ms"]}

    def fake_connection():
        from bench.httpclient import Connection

        return Connection("127.0.0.1", fake.port)

    out = {"max": await blast(plan.headroom_streams, {"ttft_ms": 0, "itl_ms": 0, "tokens": plan.headroom_tokens,
                                                       "chunk_tokens": 1}, 60.0)}
    heaviest = max(plan.ladder)
    wanted = heaviest * 1000.0 / plan.ladder_itl_ms
    out["scenario_rate_chunks_per_s"] = wanted
    out["headroom_x"] = out["max"]["chunks_per_s"] / wanted if out["max"]["chunks_per_s"] else None
    hold_s = plan.headroom_hold_s
    for label, factor in (("at_1x", 1), ("at_5x", 5)):
        itl = plan.ladder_itl_ms / factor
        tokens = max(int(hold_s * 1000 / itl), 1)
        result = await blast(heaviest, {"ttft_ms": 0, "itl_ms": itl, "tokens": tokens, "chunk_tokens": 1}, 60.0)
        result["wanted_chunks_per_s"] = wanted * factor
        result["achieved_fraction"] = (result["chunks_per_s"] or 0) / (wanted * factor)
        out[label] = result
    log(f"  fake headroom: max {out['max']['chunks_per_s']:.0f} chunks/s; "
        f"x1 {out['at_1x']['achieved_fraction']:.2f}, x5 {out['at_5x']['achieved_fraction']:.2f} of wanted")
    return out
