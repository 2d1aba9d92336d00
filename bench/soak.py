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
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.procs import Child, install_handlers
from bench.soak_client import OP_TIMEOUT, Client, Segment, SoakError, Stack, sse_events
from bench.soak_load import OPERATIONS, Tally, client_loop, make_assistants, soak
from bench.soak_stack import PG_DATABASE, ROOT, _pg, check_store, server_env, start_stack

# The names other modules import from bench.soak, wherever they are defined.
__all__ = ["OPERATIONS", "OP_TIMEOUT", "ROOT", "Client", "Segment", "SoakError", "Stack", "Tally", "check_store",
           "client_loop", "main", "make_assistants", "server_env", "soak", "sse_events", "start_stack"]


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.soak`: run the soak, print (and with --json write) the summary; 0 when everything held."""
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
