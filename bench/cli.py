"""`python -m bench`: start everything on loopback, run the scenarios, write the results.

    python -m bench                       # the full run (about 15 minutes on 2 cores)
    python -m bench --quick               # every scenario, small (about 2 minutes)
    python -m bench --scale               # PostgreSQL + Redis + 2 uvicorn workers
    python -m bench --server daphne       # Entities under daphne as the main target
    python -m bench --only single,ladder --ladder 10,100 --out /tmp/b

Results go to --out (default bench/results/<timestamp>/): results.json, results.md,
results.png and logs/. A missed target is reported, not an error; the exit status is 1
only when a scenario could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.procs import install_handlers, raise_fd_limit
from bench.scenarios import Plan
from bench.stack import ROOT, Stack

SCENARIOS = ("single", "throughput", "ladder", "profile", "headroom", "crud", "db", "ws")
MAX_RUN_MINUTES = 90.0
QUIET_LOAD = 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="every scenario, small sizes")
    parser.add_argument("--scale", action="store_true", help="PostgreSQL + Redis channel layer + 2 uvicorn workers")
    parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn",
                        help="the ASGI server for target C (the other is compared on S1 and one ladder step)")
    parser.add_argument("--no-compare", action="store_true", help="do not run the other ASGI server")
    parser.add_argument("--workers", type=int, default=None, help="uvicorn workers (default 1; 2 with --scale)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default bench/results/<timestamp>/)")
    parser.add_argument("--only", default=None, help=f"comma-separated scenarios among {', '.join(SCENARIOS)}")
    parser.add_argument("--iterations", type=int, help="S1 streams per target")
    parser.add_argument("--round-size", type=int, help="S1 streams per target per round")
    parser.add_argument("--ladder", help="comma-separated concurrency steps, e.g. 10,100,500,1000")
    parser.add_argument("--ladder-rounds", type=int)
    parser.add_argument("--ladder-tokens", type=int, help="tokens per ladder stream (at 20 tok/s)")
    parser.add_argument("--ws-sockets", type=int)
    parser.add_argument("--crud-seconds", type=float)
    parser.add_argument("--run-creates", type=int)
    parser.add_argument("--load-streams", type=int)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--max-minutes", type=float, default=MAX_RUN_MINUTES, help="hard bound on the whole run")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help=f"first wait up to SECONDS for the 1-minute load average to drop below {QUIET_LOAD}")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    plan = Plan.quick() if args.quick else Plan()
    overrides = {"iterations": args.iterations, "round_size": args.round_size, "ladder_rounds": args.ladder_rounds,
                 "ladder_tokens": args.ladder_tokens, "ws_sockets": args.ws_sockets, "crud_seconds": args.crud_seconds,
                 "run_creates": args.run_creates, "load_streams": args.load_streams}
    for name, value in overrides.items():
        if value is not None:
            setattr(plan, name, value)
    if args.ladder:
        plan.ladder = [int(x) for x in args.ladder.split(",") if x.strip()]
    plan.round_size = max(1, min(plan.round_size, plan.iterations))
    if args.no_profile:
        plan.profile = False
    if plan.profile_step not in plan.ladder:
        plan.profile_step = max([n for n in plan.ladder if n <= plan.profile_step] or plan.ladder)
    return plan


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


async def run_scenarios(stack: Stack, plan: Plan, chosen: list[str], results: dict) -> None:
    from bench.api import EntitiesApi, ThreadSupply
    from bench.scenarios import Context, Tenant

    tenants = {}
    for server in stack.servers:
        key = stack.tenants[server].api_key
        api = EntitiesApi(stack.entities(server).port, key)
        tenants[server] = Tenant(api, key, await api.create_assistant("cloud/bench"), ThreadSupply(api))
    ctx = Context(stack=stack, plan=plan, tenants=tenants)
    try:
        for name in chosen:
            log(f"scenario {name}")
            started = time.perf_counter()
            try:
                results["scenarios"][name] = await _scenario(name, ctx, results)
            except Exception as exc:  # noqa: BLE001 - record it, then go on with the others
                log(f"scenario {name} failed: {exc!r}")
                results["scenarios"][name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            results["scenarios"][name]["seconds"] = time.perf_counter() - started
    finally:
        for tenant in tenants.values():
            await tenant.api.close()


async def _scenario(name: str, ctx, results: dict) -> dict:
    from bench.scenarios import crud, dbcount, ladder, profiling, single, websocket

    if name == "single":
        return await single.run_latency(ctx, log)
    if name == "throughput":
        return await single.run_throughput(ctx, log)
    if name == "ladder":
        return await ladder.run_ladder(ctx, log)
    if name == "profile":
        return await profiling.run_profile(ctx, log)
    if name == "headroom":
        return await ladder.run_headroom(ctx, log, results["scenarios"].get("ladder"))
    if name == "crud":
        return await crud.run_crud(ctx, log)
    if name == "db":
        return await dbcount.run_dbcount(ctx, log)
    if name == "ws":
        return await websocket.run_websockets(ctx, log)
    raise ValueError(f"unknown scenario {name!r}")


def wait_quiet(limit: float) -> float:
    """Wait (at most ``limit`` s) for other work on the machine to calm down; seconds waited."""
    started = time.monotonic()
    if limit <= 0:
        return 0.0
    while os.getloadavg()[0] >= QUIET_LOAD and time.monotonic() - started < limit:
        log(f"waiting for a quiet machine: load average {os.getloadavg()[0]:.2f}")
        time.sleep(15)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    chosen = [s.strip() for s in args.only.split(",")] if args.only else list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    mode = "scale" if args.scale else "default"
    out_dir = args.out or ROOT / "bench" / "results" / f"{stamp}-{mode}{'-quick' if args.quick else ''}"
    out_dir.mkdir(parents=True, exist_ok=True)
    install_handlers()
    fds = raise_fd_limit()
    waited = wait_quiet(args.wait_quiet)
    from bench.report import machine_info, write

    workers = args.workers or (2 if args.scale else 1)
    results: dict = {"meta": {"started": stamp, "mode": mode, "quick": args.quick, "server": args.server,
                              "workers": workers, "open_files_limit": fds, "machine": machine_info(),
                              "load_average_at_start": os.getloadavg(), "waited_for_quiet_s": waited,
                              "database": "postgresql + redis channel layer" if args.scale else "sqlite (WAL) + in-memory channel layer"},
                     "plan": dataclasses.asdict(plan), "scenarios": {}}
    stack = Stack(out_dir=out_dir, scale=args.scale, primary=args.server, compare=not args.no_compare, workers=workers)
    failed = False
    try:
        log(f"starting the stack in {stack.tmp} ({mode}, Entities under {args.server}, {workers} worker(s))")
        stack.start()
        results["meta"]["commands"] = {k: v for k, v in stack.commands.items()}
        log("stack up: " + ", ".join(f"{k} :{c.port}" for k, c in stack.children.items()))
        import uvloop

        async def bounded() -> None:
            async with asyncio.timeout(args.max_minutes * 60):
                await run_scenarios(stack, plan, chosen, results)

        uvloop.run(bounded())
    except BaseException as exc:  # noqa: BLE001 - write what we have, then report
        failed = True
        results["error"] = f"{type(exc).__name__}: {exc}"
        results["traceback"] = traceback.format_exc()
        log(f"run stopped: {exc!r}")
        if isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        results["meta"]["commands"] = {k: v for k, v in stack.commands.items()}
        results["meta"]["load_average_at_end"] = os.getloadavg()
        stack.close()
        paths = write(results, out_dir)
        log(f"results: {paths['md']}")
    failed = failed or any(isinstance(v, dict) and v.get("error") for v in results["scenarios"].values())
    return 1 if failed else 0
