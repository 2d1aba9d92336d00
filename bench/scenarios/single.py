"""S1 one stream at a time: TTFT, ITL and total time per target; S2 one stream's throughput.

Rounds interleave the targets (A, B, C, C_ws, R, O, C_daphne, A, B, …) so drift on the machine
hits all of them alike; the headline p50 is the median of the round medians, p95/p99
are over all samples pooled.
"""

from __future__ import annotations

from bench.measure import Meter, per_token_us
from bench.scenarios import Context, errors_of, targets
from bench.stats import minus, ratio, rounds_summary

STREAM_TIMEOUT = 30.0


async def _overhead(ctx: Context) -> dict[str, float]:
    samples = await ctx.api.metrics()
    return {name: samples.get(name, 0.0) for name in (
        "entities_overhead_seconds_sum", "entities_overhead_seconds_count",
        "entities_time_to_first_token_seconds_sum", "entities_time_to_first_token_seconds_count")}


def _mean_ms(before: dict, after: dict, metric: str) -> float | None:
    count = after[f"{metric}_count"] - before[f"{metric}_count"]
    return (after[f"{metric}_sum"] - before[f"{metric}_sum"]) / count * 1000.0 if count else None


def _versus(mine: dict, peer: dict) -> dict:
    """Entities' Responses stream (R) over the peer's (O): p50 ratios, below 1 when R is faster."""
    return {
        "ttft_p50": ratio(mine["ttft_ms"]["p50_rounds"], peer["ttft_ms"]["p50_rounds"]),
        "total_p50": ratio(mine["total_ms"]["p50_rounds"], peer["total_ms"]["p50_rounds"]),
        "added_ttft_p50": ratio(mine["added_ttft_ms"]["p50_rounds"], peer["added_ttft_ms"]["p50_rounds"]),
        "added_total_p50": ratio(mine["added_total_ms"]["p50_rounds"], peer["added_total_ms"]["p50_rounds"]),
    }


async def _ensure_threads(ctx: Context, chosen, per_target: int) -> None:
    """Fresh threads for every Entities target (C and C_ws share one deployment's supply)."""
    needed: dict[str, int] = {}
    for target in chosen:
        if target.server is not None:
            needed[target.server] = needed.get(target.server, 0) + per_target
    for server, count in needed.items():
        await ctx.tenant(server).supply.ensure(count)


async def run_latency(ctx: Context, log) -> dict:
    plan = ctx.plan
    params = {"ttft_ms": 0, "itl_ms": plan.single_itl_ms, "tokens": plan.single_tokens, "chunk_tokens": 1}
    chosen = targets(ctx, ws=True, other_servers=True)
    rounds = max(plan.iterations // plan.round_size, 1)
    per_target = rounds * plan.round_size + plan.warmup
    await _ensure_threads(ctx, chosen, per_target)
    connections = {t.key: t.connection() for t in chosen}
    samples = {t.key: {"ttft": [], "total": [], "itl": [], "results": []} for t in chosen}
    try:
        for target in chosen:  # warm-up: first imports, connection pools, caches
            for _ in range(plan.warmup):
                await target.stream(ctx, connections[target.key], params, STREAM_TIMEOUT)
        overhead0 = await _overhead(ctx)
        machine = Meter({})
        await machine.__aenter__()
        for r in range(rounds):
            for target in chosen:
                bucket = samples[target.key]
                ttft, total = [], []
                for _ in range(plan.round_size):
                    result = await target.stream(ctx, connections[target.key], params, STREAM_TIMEOUT)
                    bucket["results"].append(result)
                    if result.ok:
                        ttft.append(result.ttft)
                        total.append(result.total)
                        bucket["itl"] += result.gaps()
                bucket["ttft"].append(ttft)
                bucket["total"].append(total)
            log(f"  S1 round {r + 1}/{rounds} done")
        await machine.__aexit__(None, None, None)
        overhead1 = await _overhead(ctx)
    finally:
        for conn in connections.values():
            await conn.close()
    out = {"params": params, "rounds": rounds, "round_size": plan.round_size,
           "client": "raw asyncio HTTP/1.1 + SSE parser (bench/httpclient.py); WebSocket: websockets 15",
           "others_pct": machine.result["others_pct"], "machine_busy_pct": machine.result["machine_busy_pct"],
           "targets": {}}
    for target in chosen:
        bucket = samples[target.key]
        results = bucket["results"]
        out["targets"][target.key] = {
            "label": target.label,
            "runs": len(results),
            "ok": sum(r.ok for r in results),
            "errors": errors_of(results),
            "ttft_ms": rounds_summary(bucket["ttft"], 1000.0),
            "total_ms": rounds_summary(bucket["total"], 1000.0),
            "itl_ms": rounds_summary([bucket["itl"]], 1000.0),
        }
    base = out["targets"]["A"]
    floor = out["targets"]["B"]
    for key, entry in out["targets"].items():
        if key == "A":
            continue
        entry["added_ttft_ms"] = minus(entry["ttft_ms"], base["ttft_ms"])
        entry["added_total_ms"] = minus(entry["total_ms"], base["total_ms"])
        entry["added_itl_ms"] = minus(entry["itl_ms"], base["itl_ms"], keys=("p50", "p95", "p99", "mean"))
        if key != "B":
            entry["added_ttft_vs_thin_proxy"] = ratio(entry["added_ttft_ms"]["p50_rounds"],
                                                      floor["added_ttft_ms"]["p50_rounds"])
    if "O" in out["targets"] and "R" in out["targets"]:
        out["R_vs_O"] = _versus(out["targets"]["R"], out["targets"]["O"])
    out["skipped_targets"] = dict(ctx.stack.skipped)
    # The server's view of the same runs (C and C_ws; the other server keeps its own metrics):
    # the overhead histogram, and claim → first delta (what TTFT spends after the run is claimed).
    out["entities_overhead_metric_mean_ms"] = _mean_ms(overhead0, overhead1, "entities_overhead_seconds")
    out["entities_claim_to_first_token_mean_ms"] = _mean_ms(overhead0, overhead1,
                                                            "entities_time_to_first_token_seconds")
    return out


async def run_throughput(ctx: Context, log) -> dict:
    """S2: one stream of many tokens as fast as the fake sends them; tokens/s and CPU per token."""
    plan = ctx.plan
    params = {"ttft_ms": 0, "itl_ms": 0, "tokens": plan.throughput_tokens, "chunk_tokens": 1}
    chosen = targets(ctx, responses=True, other_servers=True)
    await _ensure_threads(ctx, chosen, plan.throughput_iterations + 1)
    connections = {t.key: t.connection() for t in chosen}
    rows = {t.key: {"rate": [], "cpu_s": 0.0, "tokens": 0, "results": []} for t in chosen}
    try:
        for target in chosen:
            await target.stream(ctx, connections[target.key], params, STREAM_TIMEOUT * 4)  # warm-up
        for _ in range(plan.throughput_iterations):
            for target in chosen:
                watched = {"server": target.child} if target.child is not None else {}
                meter = Meter(watched)
                async with meter:
                    result = await target.stream(ctx, connections[target.key], params, STREAM_TIMEOUT * 4)
                row = rows[target.key]
                row["results"].append(result)
                if result.ok and result.total:
                    row["rate"].append(result.deltas / result.total)
                    row["tokens"] += result.deltas
                    row["cpu_s"] += meter.result["cpu_s"].get("server", 0.0)
    finally:
        for conn in connections.values():
            await conn.close()
    out = {"params": params, "iterations": plan.throughput_iterations, "targets": {}}
    for target in chosen:
        row = rows[target.key]
        summary = rounds_summary([row["rate"]])
        out["targets"][target.key] = {
            "label": target.label, "runs": len(row["results"]), "ok": sum(r.ok for r in row["results"]),
            "errors": errors_of(row["results"]), "tokens_per_s": summary,
            "server_cpu_us_per_token": per_token_us({"server": row["cpu_s"]}, row["tokens"])["server"]
            if target.child is not None else None,
        }
    direct = out["targets"]["A"]["tokens_per_s"]["p50"]
    for entry in out["targets"].values():
        entry["rate_vs_direct"] = ratio(entry["tokens_per_s"]["p50"], direct)
    if "O" in out["targets"] and "R" in out["targets"]:
        mine, peer = out["targets"]["R"], out["targets"]["O"]
        out["R_vs_O"] = {"server_cpu_us_per_token": ratio(mine["server_cpu_us_per_token"],
                                                          peer["server_cpu_us_per_token"]),
                         "tokens_per_s_p50": ratio(mine["tokens_per_s"]["p50"], peer["tokens_per_s"]["p50"])}
    out["skipped_targets"] = dict(ctx.stack.skipped)
    log("  S2 throughput done")
    return out
