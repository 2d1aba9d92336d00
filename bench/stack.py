"""Bringing up what a benchmark measures, all on 127.0.0.1, and taking it down again.

The fake model server, the thin proxy and Entities (uvicorn and, for the comparison,
daphne) are subprocesses. The database is made for the run: a fresh SQLite file in a
temporary folder (default), or the PostgreSQL database ``entities_bench`` with Redis as
the channel layer (``--scale``), created here and dropped at the end.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import PYTHON, Child, free_port, run_checked

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
PG_DATABASE = "entities_bench"
PG_CONNECT_ATTEMPTS = 10
PG_RETRY_SECONDS = 3.0
# A Redis database of its own, so the benchmark never reads or writes anyone else's keys.
REDIS_URL = "redis://127.0.0.1:6379/11"
BENCH_USER = "bench"
MANAGE_TIMEOUT = 300.0
READY_TIMEOUT = 60.0
# DRF throttles default to 6,000/min per key; a capacity test must not measure the throttle.
UNTHROTTLED = "1000000000/min"


def postgres_available() -> bool:
    try:
        with _pg_admin() as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


def _pg_admin():
    """An autocommit connection to the server, retried a while (other suites share its 100 slots)."""
    import time

    import psycopg

    for attempt in range(PG_CONNECT_ATTEMPTS):
        try:
            return psycopg.connect(PG_ADMIN_DSN, autocommit=True)
        except psycopg.OperationalError:
            if attempt == PG_CONNECT_ATTEMPTS - 1:
                raise
            time.sleep(PG_RETRY_SECONDS)


def pg_recreate(name: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(name: str) -> None:
    try:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass


def _bin(name: str) -> list[str]:
    """A console script of this interpreter's environment (``uvicorn``, ``daphne``)."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [PYTHON, "-m", name]


def entities_argv(server: str, port: int, workers: int = 1) -> list[str]:
    """The command each server runs Entities with (the production flags of `make serve-prod`)."""
    if server == "uvicorn":
        argv = _bin("uvicorn") + ["entities_project.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-access-log", "--ws-per-message-deflate", "false",
                                  "--loop", "uvloop", "--http", "httptools", "--backlog", "4096"]
        if workers > 1:
            argv += ["--workers", str(workers)]
        return argv
    if server == "daphne":
        return _bin("daphne") + ["-b", "127.0.0.1", "-p", str(port), "entities_project.asgi:application"]
    raise ValueError(f"unknown server {server!r}")


@dataclass
class Database:
    url: str
    kind: str  # "sqlite" | "postgres"
    pg_name: str | None = None


@dataclass
class Tenant:
    """One Entities deployment's own database, environment and API key.

    Each ASGI server under test gets its own: two processes sharing one SQLite file and no
    shared channel layer would adopt each other's queued runs (after the 5 s grace) and
    their watchers would then see no live events, which is a deployment error, not a speed.
    """

    server: str
    database: Database
    env: dict
    api_key: str


@dataclass
class Stack:
    out_dir: Path
    scale: bool = False
    primary: str = "uvicorn"
    compare: bool = True
    workers: int = 1
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="entities-bench-")))
    children: dict[str, Child] = field(default_factory=dict)
    databases: list[Database] = field(default_factory=list)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # peer target → why it did not run

    @property
    def api_key(self) -> str:
        return self.tenants[self.primary].api_key

    @property
    def log_dir(self) -> Path:
        path = self.out_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- processes ------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], *, env: dict | None = None, port: int | None = None,
              ready_path: str = "/", ready_timeout: float = READY_TIMEOUT) -> Child:
        import os

        child = Child(name, argv, env=env or dict(os.environ, PYTHONUNBUFFERED="1"), cwd=ROOT,
                      log_dir=self.log_dir, port=port)
        self.children[name] = child
        self.commands[name] = argv
        child.wait_ready(ready_path, ready_timeout)
        return child

    @property
    def fake(self) -> Child:
        return self.children["fakeoai"]

    @property
    def proxy(self) -> Child:
        return self.children["thinproxy"]

    def entities(self, server: str | None = None) -> Child:
        return self.children[f"entities-{server or self.primary}"]

    @property
    def servers(self) -> list[str]:
        others = [s for s in ("uvicorn", "daphne") if s != self.primary] if self.compare and not self.scale else []
        return [self.primary] + others

    # -- the database ---------------------------------------------------------------------
    def new_database(self, *, postgres: bool, name: str = PG_DATABASE) -> Database:
        if postgres:
            pg_recreate(name)
            database = Database(PG_URL.format(name=name), "postgres", name)
        else:
            path = self.tmp / f"{name}.sqlite3"
            database = Database(f"sqlite:///{path}", "sqlite")
        self.databases.append(database)
        return database

    def entities_env(self, database: Database, *, redis: bool, **extra: str) -> dict:
        import os

        env = dict(os.environ)
        env.update({
            "PYTHONUNBUFFERED": "1",
            # Entities' settings; with ENTITIES_BENCH_FLOOR=1 also the Django floor URLs of S4.
            "DJANGO_SETTINGS_MODULE": "bench.floor_settings",
            "ENTITIES_BENCH_FLOOR": "1",
            "SECRET_KEY": "entities-bench-secret-key-not-for-production",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database.url,
            "REDIS_URL": REDIS_URL if redis else "",
            "ENTITIES_DB_POOL": "1" if database.kind == "postgres" else "0",
            "OPENAI_BASE_URL": f"{self.fake.url}/v1",
            "OPENAI_API_KEY": "bench-not-a-secret",
            "LOCAL_OPENAI_BASE_URL": "",
            "ENTITIES_THROTTLE_KEY_RATE": UNTHROTTLED,
            "ENTITIES_THROTTLE_USER_RATE": UNTHROTTLED,
            "ENTITIES_MAX_ACTIVE_RUNS_PER_USER": "100000",
            "ENTITIES_METRICS_TOKEN": "",
            "LOG_LEVEL": "WARNING",
        })
        env.update(extra)
        return env

    def prepare(self, database: Database, env: dict) -> str:
        """Migrate ``database`` and return a fresh API key for the bench user."""
        run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, timeout=MANAGE_TIMEOUT)
        out = run_checked([PYTHON, "manage.py", "create_api_key", BENCH_USER, "--name", "bench"], env=env, cwd=ROOT,
                          timeout=MANAGE_TIMEOUT)
        return out.strip().splitlines()[-1].strip()

    # -- the whole stack --------------------------------------------------------------------
    def start(self) -> "Stack":
        fake_port = free_port()
        self.spawn("fakeoai", [PYTHON, "-m", "bench.fakeoai", "--port", str(fake_port)], port=fake_port,
                   ready_path="/hello")
        proxy_port = free_port()
        self.spawn("thinproxy", [PYTHON, "-m", "bench.thinproxy", "--port", str(proxy_port), "--upstream",
                                 self.fake.url], port=proxy_port, ready_path="/hello")
        self.start_peers()
        from concurrent.futures import ThreadPoolExecutor

        def tenant(server: str) -> Tenant:
            suffix = "" if server == self.primary else f"_{server}"
            database = self.new_database(postgres=self.scale, name=PG_DATABASE + suffix)
            env = self.entities_env(database, redis=self.scale)
            return Tenant(server, database, env, self.prepare(database, env))

        with ThreadPoolExecutor(len(self.servers)) as pool:
            for made in pool.map(tenant, self.servers):
                self.tenants[made.server] = made
        for server in self.servers:
            self.start_entities(server)
        return self

    def start_peers(self) -> None:
        """The peers: the LiteLLM proxy (target L), when bench/peers/install_litellm.sh installed it; OGX (O)."""
        import os

        from bench.peers import litellm_peer

        if litellm_peer.installed():
            port = free_port()
            env = dict(os.environ, PYTHONUNBUFFERED="1", LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False")
            self.spawn("litellm", litellm_peer.argv_and_config(self.tmp, self.fake.url, port), env=env, port=port,
                       ready_path=litellm_peer.READY_PATH, ready_timeout=litellm_peer.READY_TIMEOUT)
        self.start_ogx()

    def start_ogx(self) -> None:
        """OGX (target O) when bench/peers/install_ogx.sh installed it; else why not, in ``skipped``."""
        from bench.peers import ogx_peer

        reason = ogx_peer.skip_reason()
        if reason is not None:
            self.skipped["O"] = reason
            return
        port = free_port()
        self.spawn("ogx", ogx_peer.argv(port), env=ogx_peer.env(self.tmp, self.fake.url), port=port,
                   ready_path=ogx_peer.READY_PATH, ready_timeout=ogx_peer.READY_TIMEOUT)

    def start_entities(self, server: str, name: str | None = None) -> Child:
        """An Entities process (``entities-<server>`` unless named) on the run's database."""
        port = free_port()
        workers = self.workers if server == "uvicorn" else 1
        return self.spawn(name or f"entities-{server}", entities_argv(server, port, workers),
                          env=self.tenants[server].env, port=port, ready_path="/healthz")

    def stop_child(self, name: str) -> None:
        child = self.children.pop(name, None)
        if child is not None:
            child.stop()

    def close(self) -> None:
        for name in reversed(list(self.children)):
            try:
                self.children[name].stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        for database in self.databases:
            if database.pg_name:
                pg_drop(database.pg_name)
        shutil.rmtree(self.tmp, ignore_errors=True)
