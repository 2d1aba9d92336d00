"""The soak's Entities: its database and uvicorn processes brought up, and the store checked at the end."""

from __future__ import annotations

import os
import secrets
from collections import Counter
from pathlib import Path

from bench.procs import PYTHON, Child, free_port, run_checked
from bench.soak_client import Stack

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_DATABASE = "entities_soak"
REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own: the soak flushes it
DRAIN_TIMEOUT = 30.0


def _pg(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)


def server_env(args, workdir: Path, fake_url: str) -> tuple[dict, str]:
    """(environment, SECRET_KEY) of the servers, with a fresh soak database (PostgreSQL and Redis with --scale)."""
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
    """Migrate, make an API key and start the uvicorn server(s), ready; the Stack and the server processes."""
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
