"""The README's `make run` really serves: started on a free port against a temporary database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from testsupport.live import free_port

pytestmark = pytest.mark.slow


def test_it_serves_healthz_and_admin_with_the_readme_command(tmp_path: Path):
    port = free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               ENTITIES_LOCAL_DIR=str(tmp_path / "local"))
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(["make", "run"], cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + 120
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                time.sleep(0.5)
        assert response is not None, f"make run never answered: {process.stdout.read() if process.poll() is not None else ''}"
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok" and body["database"]["ok"] and body["channel_layer"]["ok"]
        admin = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
        assert admin.status_code == 200 and "Django" in admin.text
        credentials = (tmp_path / "local" / "first-run-credentials.txt").read_text()
        assert "username: admin" in credentials and "api_key: ent-" in credentials
        key = credentials.split("api_key: ")[1].strip()
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert models.status_code == 200
        assert any(m["id"] == "demo/echo" for m in models.json()["data"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
