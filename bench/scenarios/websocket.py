"""S7 idle WebSockets: RSS per authenticated socket, and the CPU they cost while idle.

N sockets (one thread each, `?token=<API key>`), each waits for its `ready` frame; the
server's RSS before and after, divided by N. The server is a fresh process (one that has
served the other scenarios has freed heap to grow into, and would show almost nothing),
and a few sockets are opened and closed first so one-off imports and caches are not
charged to the sockets.
"""

from __future__ import annotations

import asyncio
import gc

from bench.scenarios import Context

OPEN_CONCURRENCY = 50
OPEN_TIMEOUT = 20.0
WARMUP_SOCKETS = 10


async def _open(url: str):
    import json

    from websockets.asyncio.client import connect

    ws = await connect(url, compression=None, open_timeout=OPEN_TIMEOUT, close_timeout=2, ping_interval=None)
    try:
        ready = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        if ready.get("type") != "ready":
            raise ValueError(f"first frame was {ready!r}")
    except BaseException:
        await ws.close()
        raise
    return ws


async def idle_sockets(ctx: Context, server: str, n: int) -> dict:
    name = f"entities-{server}-fresh"
    child = await asyncio.to_thread(ctx.stack.start_entities, server, name)
    try:
        return await _measure(ctx, child, server, n)
    finally:
        await asyncio.to_thread(ctx.stack.stop_child, name)


async def _measure(ctx: Context, child, server: str, n: int) -> dict:
    settle, idle = ctx.plan.ws_settle_s, ctx.plan.ws_idle_s
    tenant = ctx.tenant(server)
    await tenant.supply.ensure(n + WARMUP_SOCKETS)
    threads = tenant.supply.take(n + WARMUP_SOCKETS)
    base = f"ws://127.0.0.1:{child.port}/ws/threads/"
    urls = [f"{base}{t}/?token={tenant.api_key}" for t in threads]
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def opened(url: str):
        async with semaphore:
            return await _open(url)

    warm = await asyncio.gather(*(opened(u) for u in urls[:WARMUP_SOCKETS]), return_exceptions=True)
    await asyncio.gather(*(w.close() for w in warm if not isinstance(w, BaseException)), return_exceptions=True)
    await asyncio.sleep(settle)
    rss0 = child.rss_bytes()
    cpu0 = child.cpu_seconds()
    await asyncio.sleep(idle)  # the process's own idle cost (sweeper, lease loop), to subtract
    baseline_cpu = child.cpu_seconds() - cpu0
    sockets = await asyncio.gather(*(opened(u) for u in urls[WARMUP_SOCKETS:]), return_exceptions=True)
    good = [s for s in sockets if not isinstance(s, BaseException)]
    failures = [repr(s)[:200] for s in sockets if isinstance(s, BaseException)][:3]
    try:
        gc.collect()
        await asyncio.sleep(settle)
        rss1 = child.rss_bytes()
        cpu0 = child.cpu_seconds()
        await asyncio.sleep(idle)
        idle_cpu = max(child.cpu_seconds() - cpu0 - baseline_cpu, 0.0)
        rss2 = child.rss_bytes()
    finally:
        await asyncio.gather(*(s.close() for s in good), return_exceptions=True)
    await asyncio.sleep(settle)
    rss3 = child.rss_bytes()
    opened_ok = len(good)
    per_socket = (max(rss1, rss2) - rss0) / opened_ok if opened_ok else None
    return {
        "server": server, "sockets": n, "opened": opened_ok, "failures": failures,
        "rss_before_mb": rss0 / 2**20, "rss_open_mb": max(rss1, rss2) / 2**20, "rss_after_close_mb": rss3 / 2**20,
        "kib_per_socket": per_socket / 1024 if per_socket is not None else None,
        "idle_cpu_pct_per_1000": (100.0 * idle_cpu / idle) * 1000 / opened_ok if opened_ok else None,
    }


async def run_websockets(ctx: Context, log) -> dict:
    out = {}
    for server in ctx.stack.servers:
        out[server] = await idle_sockets(ctx, server, ctx.plan.ws_sockets)
        log(f"  S7 {server}: {out[server]['opened']}/{out[server]['sockets']} sockets, "
            f"{out[server]['kib_per_socket'] or 0:.1f} KiB each")
    return out
