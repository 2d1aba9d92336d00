"""A live Entities server for tests: the real ASGI app under uvicorn, in a thread.

The server shares the test database (a file for SQLite, the test database on
PostgreSQL), so tests that use it need committed data: the fixture depends on
``transactional_db``. The run engine runs on the server's event loop, as in production.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveEntities:
    """Entities' ASGI application served by uvicorn in a background thread."""

    def __init__(self) -> None:
        from entities_project.asgi import application

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", ws_per_message_deflate=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, name=f"live-entities-{self.port}", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self, timeout: float = 15.0) -> "LiveEntities":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live Entities server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        from conversations.engine import runtime

        if self.loop is not None and self.loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(runtime.shutdown(timeout=5.0), self.loop)
            try:
                fut.result(timeout=8)
            except Exception:  # noqa: BLE001 - best effort on teardown
                pass
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@pytest.fixture
def live_entities(transactional_db) -> Iterator[LiveEntities]:
    server = LiveEntities().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sdk(live_entities, alice):
    """The official openai SDK pointed at the live server as alice."""
    import openai

    client = openai.OpenAI(base_url=live_entities.v1, api_key=alice.api_key, max_retries=0, timeout=30)
    yield client
    client.close()


def sdk_for(live: LiveEntities, person, **kwargs):
    import openai

    return openai.OpenAI(base_url=live.v1, api_key=person.api_key, max_retries=0, timeout=30, **kwargs)
