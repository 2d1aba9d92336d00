"""`make run` keeps one development SECRET_KEY (issue 14, item 2), seen from outside.

The README's flow in a shell with no variables set: `make run`, sign in, restart it, and
the session and the JWT still work; `manage.py create_api_key` right after works too.
`make serve-prod` still refuses to start without SECRET_KEY, DEBUG or not.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from testsupport.live import free_port

pytestmark = pytest.mark.slow

START_TIMEOUT = 120


def _user_env(tmp_path: Path, port: int) -> dict:
    """A developer's shell: none of the suite's SECRET_KEY / DEBUG; our own database and .local."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DEBUG", "REDIS_URL", "ENTITIES_PRODUCTION", "DATABASE_URL")}
    env.update(PORT=str(port), HOST="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               ENTITIES_LOCAL_DIR=str(tmp_path / "local"))
    return env


class MakeRun:
    def __init__(self, env: dict) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.process = subprocess.Popen(["make", "run"], cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, text=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
                return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.5)
        self.stop()
        raise AssertionError(f"make run never answered: {self.process.stdout.read()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def _sign_in(url: str, username: str, password: str) -> httpx.Client:
    browser = httpx.Client(base_url=url, timeout=10, follow_redirects=False)
    page = browser.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed = browser.post("/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{url}/login/"})
    assert signed.status_code == 302 and "sessionid" in browser.cookies, signed.text[:300]
    return browser


def test_sessions_and_jwts_survive_a_restart_and_manage_py_needs_no_variables(tmp_path: Path):
    env = _user_env(tmp_path, free_port())
    server = MakeRun(env)
    try:
        credentials = (tmp_path / "local" / "first-run-credentials.txt").read_text()
        password = re.search(r"password: (\S+)", credentials).group(1)
        browser = _sign_in(server.url, "admin", password)
        jwt = httpx.post(f"{server.url}/api/token/", json={"username": "admin", "password": password},
                         timeout=10).json()["access"]
        assert browser.get("/v1/assistants").status_code == 200
    finally:
        server.stop()

    key_file = tmp_path / "local" / "secret-key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600

    server = MakeRun(env)
    try:
        assert browser.get("/v1/assistants").status_code == 200  # still signed in
        page = browser.get("/")
        assert page.status_code == 200, page.headers.get("location")  # the chat, not the login screen
        models = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {jwt}"}, timeout=10)
        assert models.status_code == 200, models.text
        # The README's next step, in the same shell: no SECRET_KEY, no DEBUG.
        made = subprocess.run([sys.executable, "manage.py", "create_api_key", "bob"], cwd=settings.BASE_DIR,
                              env=env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        raw = made.stdout.strip().splitlines()[-1].strip()
        assert raw.startswith("ent-")
        assert httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {raw}"},
                         timeout=10).status_code == 200
    finally:
        server.stop()
    browser.close()


@pytest.mark.parametrize("debug", ["0", "1"])
def test_serve_prod_refuses_to_start_without_a_secret_key(tmp_path: Path, debug):
    env = _user_env(tmp_path, free_port())
    env["DEBUG"] = debug
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "secret-key").write_text("dev-" + "k" * 60)  # a development key is there: not used
    process = subprocess.Popen(["make", "serve-prod"], cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # it started serving: stop the whole group
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
        raise AssertionError("make serve-prod started without SECRET_KEY") from None
    assert process.returncode != 0
    assert "SECRET_KEY is not set" in stderr
