"""Slow-header connections under `make serve-prod` (issue 14, item 9), with real sockets.

uvicorn 0.38 has no deadline for a request head, so a client trickling its headers a
byte at a time held a connection (and its memory) for ever. serve-prod's protocol
(entities_project/http_protocol.py) closes one that has not sent a whole head within
ENTITIES_HEADER_TIMEOUT_SECONDS; requests that do are served as before, keep-alive too.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time

import httpx
import pytest
from django.conf import settings

from testsupport.live import free_port

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 2.0


def _serve_prod_server_command(env: dict) -> list[str]:
    """The uvicorn command `make serve-prod` runs, read from `make -n` (so the Makefile's own
    flags are what is tested), after its migrate step; its collectstatic step is left out,
    since it would write STATIC_ROOT into the shared checkout."""
    printed = subprocess.run(["make", "-n", "serve-prod"], cwd=settings.BASE_DIR, env=env, capture_output=True,
                             text=True, timeout=60, check=True).stdout.replace("\\\n", " ")
    for line in printed.splitlines():
        if "manage.py migrate" in line:
            subprocess.run(shlex.split(line), cwd=settings.BASE_DIR, env=env, check=True, timeout=120,
                           capture_output=True)
        if "/uvicorn " in line:
            return shlex.split(line)
    raise AssertionError(f"no uvicorn command in make -n serve-prod: {printed}")


@pytest.fixture(scope="module")
def serve_prod(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-prod")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DEBUG")}
    env.update(PORT=str(port), HOST="127.0.0.1", SECRET_KEY="s" * 60, DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
               ENTITIES_LOCAL_DIR=str(tmp / "local"), ENTITIES_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
               ENTITIES_PRODUCTION="1")
    process = subprocess.Popen(_serve_prod_server_command(env), cwd=settings.BASE_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve-prod never answered: {process.stdout.read() if process.poll() is not None else ''}")
                time.sleep(0.5)
        yield port, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _closed_after(sock: socket.socket, trickle: bytes, limit: float) -> float | None:
    """Send ``trickle`` a byte every 0.3 s; seconds until the server closed, None if it never did."""
    sock.settimeout(0.3)
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < limit:
        try:
            if sent < len(trickle):
                sock.send(trickle[sent:sent + 1])
                sent += 1
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:  # reset
            return time.monotonic() - start
    return None


def test_a_connection_that_trickles_its_headers_is_closed(serve_prod):
    port, _ = serve_prod
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        closed = _closed_after(sock, head, limit=HEADER_TIMEOUT + 8)
    assert closed is not None, "the server kept a slow-header connection open"
    assert HEADER_TIMEOUT - 0.5 <= closed <= HEADER_TIMEOUT + 4, closed  # slack for a loaded machine


def test_a_connection_that_sends_nothing_is_closed(serve_prod):
    port, _ = serve_prod
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        closed = _closed_after(sock, b"", limit=HEADER_TIMEOUT + 8)
    assert closed is not None and closed <= HEADER_TIMEOUT + 4, closed


def test_requests_and_keep_alive_still_work(serve_prod):
    port, _ = serve_prod
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(HEADER_TIMEOUT / 2)  # idle between requests, under the deadline each time
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        # The next request on the same connection trickles: the deadline applies to it too.
        closed = _closed_after(sock, b"GET /healthz HTTP/1.1\r\nHost: 1", limit=HEADER_TIMEOUT + 8)
    assert closed is not None and closed <= HEADER_TIMEOUT + 4, closed


def test_a_websocket_open_longer_than_the_deadline_stays_open(serve_prod, tmp_path_factory):
    """The deadline ends with the headers: a socket (or a stream) may then last as long as it likes."""
    import asyncio
    import json
    import sys

    from websockets.asyncio.client import connect

    port, env = serve_prod
    made = subprocess.run([sys.executable, "manage.py", "create_api_key", "alice"], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)
    key = made.stdout.strip().splitlines()[-1]
    thread = httpx.post(f"http://127.0.0.1:{port}/v1/threads", json={}, timeout=10,
                        headers={"Authorization": f"Bearer {key}"}).json()["id"]

    async def hold() -> dict:
        async with connect(f"ws://127.0.0.1:{port}/ws/threads/{thread}/?token={key}", open_timeout=5) as websocket:
            await asyncio.wait_for(websocket.recv(), 5)  # ready
            await asyncio.sleep(HEADER_TIMEOUT + 1)
            await websocket.send('{"type": "ping"}')
            return json.loads(await asyncio.wait_for(websocket.recv(), 5))

    assert asyncio.run(hold()) == {"type": "pong"}
