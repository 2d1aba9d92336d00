"""Where the time goes: py-spy attached to each Entities worker during extra, unreported work.

Four recordings: long single streams back to back (the per-token path alone), one-token
runs back to back (the per-run path: what TTFT pays), an S3 ladder step on C (creation,
per-token path and SSE together) and the S4 message-list loop (a plain REST read). The
rest of the run never has py-spy attached, so no reported number carries its (small,
`--nonblocking`) cost.
"""

from __future__ import annotations

import asyncio

from bench import profile
from bench.scenarios import Context, targets
from bench.scenarios.crud import closed_loop
from bench.scenarios.ladder import ladder_params, run_step

MAX_PROFILE_STREAMS = 400


async def _record_all(pids: list[int], seconds: float, stem: str, ctx: Context, py_spy: str) -> tuple[list, list]:
    outputs = [ctx.stack.out_dir / f"{stem}-{pid}.txt" for pid in pids]
    found = await asyncio.gather(*(profile.record(pid, seconds, out, py_spy) for pid, out in zip(pids, outputs)))
    return [p for p in outputs if p.exists()], [e for e in found if e]


async def _back_to_back(ctx: Context, tokens: int, recording) -> dict:
    """Sequential C streams of ``tokens`` tokens (TTFT 0, ITL 0) while ``recording`` runs."""
    plan = ctx.plan
    target = next(t for t in targets(ctx) if t.key == "C")
    params = {"ttft_ms": 0, "itl_ms": 0, "tokens": tokens, "chunk_tokens": 1}
    conn = target.connection()
    streamed = {"streams": 0, "tokens": 0}

    async def loop_streams() -> None:
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + plan.profile_seconds + 1.0
        while loop.time() < stop_at and streamed["streams"] < MAX_PROFILE_STREAMS:
            result = await target.stream(ctx, conn, params, 60.0)
            streamed["streams"] += 1
            streamed["tokens"] += result.deltas

    await ctx.supply.ensure(MAX_PROFILE_STREAMS)  # made before the recording starts
    try:
        _, (files, errors) = await asyncio.gather(loop_streams(), recording)
    finally:
        await conn.close()
    await ctx.api.wait_idle(30.0)
    return {"seconds": plan.profile_seconds, "errors": errors, "files": [p.name for p in files],
            "hot": profile.hot_spots(files), **streamed}


async def run_profile(ctx: Context, log) -> dict:
    plan, stack = ctx.plan, ctx.stack
    if not plan.profile:
        return {"skipped": "profiling off (--no-profile or --quick)"}
    py_spy = profile.find_py_spy()
    if py_spy is None:
        return {"skipped": "py-spy not found (pip install --target /tmp/pyspy py-spy, or set BENCH_PY_SPY)"}
    pids = stack.entities().worker_pids()
    out: dict = {"server": stack.primary, "pids": pids, "py_spy": py_spy}

    async def delayed(stem: str):
        await asyncio.sleep(0.5)
        return await _record_all(pids, plan.profile_seconds, stem, ctx, py_spy)

    # 1. the per-token path: one long stream after another, as fast as the fake sends;
    # 2. the per-run path: one-token runs back to back (what TTFT pays before the first token).
    for key, tokens in (("single", plan.throughput_tokens), ("per_run", 1)):
        out[key] = await _back_to_back(ctx, tokens, delayed(f"profile-{key}"))
        log(f"  profile of back-to-back {tokens}-token runs: {out[key]['hot']['samples']} samples")

    # 3. streaming under concurrency: a ladder step, recorded once every stream is flowing.
    target = next(t for t in targets(ctx) if t.key == "C")
    n, params = plan.profile_step, ladder_params(ctx)
    seconds = min(plan.profile_seconds, params["tokens"] * params["itl_ms"] / 1000.0)
    recorded: dict = {}

    async def during() -> None:
        await asyncio.sleep(params["ttft_ms"] / 1000.0 + 1.0)
        recorded["files"], recorded["errors"] = await _record_all(pids, seconds, f"profile-stream-{n}", ctx, py_spy)

    step = await run_step(ctx, target, n, params, during=during)
    await ctx.api.wait_idle(30.0)
    out["stream"] = {"n": n, "seconds": seconds, "errors": recorded.get("errors", []),
                     "files": [p.name for p in recorded.get("files", [])],
                     "hot": profile.hot_spots(recorded.get("files", [])),
                     "step_while_profiled": {k: step[k] for k in ("ok", "failed", "itl_ms", "cpu_us_per_token")}}
    log(f"  profile of {n} streams: {out['stream']['hot']['samples']} samples")

    # 4. a REST read: GET /messages?limit=20 by 16 workers.
    thread = (await ctx.api.create_threads(1, messages=25))[0]
    headers = {"Authorization": f"Bearer {stack.api_key}"}

    def list_messages(_i):
        return "GET", f"/v1/threads/{thread}/messages?limit=20", None, 200

    load, (files, errors) = await asyncio.gather(
        closed_loop(stack.entities().port, headers, list_messages, concurrency=16, max_requests=10**6,
                    max_seconds=plan.profile_seconds + 1.0, watched={"server": stack.entities()}),
        delayed("profile-list"))
    out["list"] = {"seconds": plan.profile_seconds, "errors": errors, "files": [p.name for p in files],
                   "hot": profile.hot_spots(files), "rps_while_profiled": load["rps"]}
    log(f"  profile of message lists: {out['list']['hot']['samples']} samples")
    return out
