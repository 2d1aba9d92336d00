"""Entities (or any ASGI app) as a real server process, for tests that kill and restart one.

    with EntitiesProcess(env=database_env_for_subprocess()) as server:   # waits for /healthz
        client = openai.OpenAI(base_url=server.v1, api_key=...)
        server.kill()                                          # SIGKILL: no cleanup at all

`EntitiesProcess` runs `python -m uvicorn entities_project.asgi:application --port P` on
a free loopback port with the given environment on top of this one; `ServerProcess` runs
any command that serves a health URL. Output goes to a log file that `output()` reads
back for failure messages. `entities_process_pair` starts two that share the test
database and Redis, for the multi-process tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from testsupport.live import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def database_env_for_subprocess() -> dict[str, str]:
    """DATABASE_URL (and SECRET_KEY) for a process that must share the pytest test database.

    Call it during a test that has the database (``transactional_db``): the settings then
    name the test database, a file for SQLite, ``test_<name>`` on PostgreSQL.
    """
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    elif connection.vendor == "postgresql":
        from urllib.parse import quote

        auth = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "localhost"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        url = f"postgres://{auth + '@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"
    else:
        raise NotImplementedError(f"no subprocess DATABASE_URL for {connection.vendor}")
    return {"DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY}


def uvicorn_command(app: str, port: int) -> list[str]:
    """`python -m uvicorn app` on 127.0.0.1:port (lifespan on: Entities binds its engine there)."""
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]


class ServerProcess:
    """A server in a child process: ``command`` must make it listen on ``port``.

    ``ServerProcess.uvicorn("module:app", ...)`` builds the command for an ASGI app.
    """

    def __init__(self, command: list[str], *, port: int, env: dict[str, str] | None = None,
                 health_path: str = "/healthz", start_timeout: float = START_TIMEOUT) -> None:
        self.command = command
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.health_path = health_path
        self.start_timeout = start_timeout
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix=f"server-{self.port}-", suffix=".log", delete=False)

    @classmethod
    def uvicorn(cls, app: str, *, env: dict[str, str] | None = None, port: int | None = None,
                **kwargs) -> "ServerProcess":
        port = port or free_port()
        return cls(uvicorn_command(app, port), port=port, env=env, **kwargs)

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> "ServerProcess":
        """Start the process and return once `health_path` answers 200."""
        self.process = subprocess.Popen(self.command, cwd=BASE_DIR, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        timeout = self.start_timeout
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[1:4]} exited with {self.process.returncode} before it served:\n{self.output()}")
            try:
                if httpx.get(self.url + self.health_path, timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.command[1:4]} did not answer {self.health_path} within {timeout:g} s:\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash, the OOM killer)."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        self.process.wait(STOP_TIMEOUT)

    def output(self) -> str:
        """What the process printed so far (its last 4,000 characters)."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def close(self) -> None:
        self.stop()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EntitiesProcess(ServerProcess):
    """Entities' ASGI application (HTTP, WebSocket and the run engine) in a child process."""

    def __init__(self, *, env: dict[str, str] | None = None, port: int | None = None) -> None:
        port = port or free_port()
        super().__init__(uvicorn_command("entities_project.asgi:application", port), port=port,
                         env={"DEBUG": "0", **(env or {})})


@contextmanager
def entities_process_pair(*, django_db_blocker,
                          openai_base_url: str) -> Iterator[tuple[EntitiesProcess, EntitiesProcess]]:
    """Processes A and B on the test database (PostgreSQL) and Redis, their cloud model at
    ``openai_base_url``; killed on exit, with nothing to wait for (the test database is flushed
    after each test). Skips on SQLite: the default variant (SQLite + in-memory layer) is one
    process by design; CI runs these in its PostgreSQL + Redis variant, where a missing Redis
    fails them."""
    import pytest

    from testsupport.requirements import require

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("runs in the PostgreSQL + Redis variant (DATABASE_URL is not PostgreSQL)")
    require(bool(os.environ.get("REDIS_URL")), "needs REDIS_URL (two processes share the channel layer)")
    with django_db_blocker.unblock():
        env = {**database_env_for_subprocess(), "OPENAI_BASE_URL": openai_base_url, "OPENAI_API_KEY": "t"}
    started: list[EntitiesProcess] = []
    try:
        for _ in range(2):
            started.append(EntitiesProcess(env=env).start())
        yield started[0], started[1]
    finally:
        for process in started:
            process.kill()
            process.close()
