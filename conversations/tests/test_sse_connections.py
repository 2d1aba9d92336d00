"""An open event stream holds no database connection: a stream lasts as long as the reply,
and on PostgreSQL every held connection is a pool slot (or a server backend) taken away
from the requests that need one. Requests share ENTITIES_REQUEST_THREADS threads, each
keeping one connection, whatever the number of streams."""

from __future__ import annotations

import asyncio
import threading
import weakref

import httpx
import pytest
from django.db.backends.signals import connection_created
from django.conf import settings
from django.test import override_settings

STREAMS = 16
PROMPT = "one two three four five six"  # demo/slow: 0.25 s a word


class ConnectionsOpened:
    """Every database connection this process opens, with the thread that opened it; the
    live server runs in this process, so its request threads are among them."""

    def __init__(self) -> None:
        self.wrappers: list[tuple[weakref.ref, str]] = []

    def __call__(self, sender, connection, **kwargs) -> None:
        self.wrappers.append((weakref.ref(connection), threading.current_thread().name))

    def held_by_requests(self) -> int:
        """Connections still open that were not opened by the engine's workers ("entities-db-…")."""
        return sum(1 for ref, thread in self.wrappers
                   if not thread.startswith("entities-db") and (w := ref()) is not None and w.connection is not None)


async def _streams(live, person, threads: list[str], assistant_id: str, measure) -> tuple[list[str], int]:
    """Start a streamed run on every thread, measure once each has sent its first delta, read all to the end."""
    started = asyncio.Semaphore(0)

    async def one(client: httpx.AsyncClient, thread_id: str) -> str:
        told = False
        async with client.stream("POST", f"{live.v1}/threads/{thread_id}/runs", headers=person.headers,
                                 json={"assistant_id": assistant_id, "stream": True}) as response:
            assert response.status_code == 200, await response.aread()
            last = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    last = line[7:]
                    if last == "thread.message.delta" and not told:
                        told = True
                        started.release()
            return last

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=STREAMS * 2)) as client:
        tasks = [asyncio.create_task(one(client, t)) for t in threads]
        for _ in threads:
            await asyncio.wait_for(started.acquire(), 20)
        during = await asyncio.to_thread(measure)
        return await asyncio.gather(*tasks), during


@pytest.mark.slow
def test_open_streams_hold_no_database_connection(live_entities, alice):
    assistant = httpx.post(f"{live_entities.v1}/assistants", headers=alice.headers,
                           json={"model": "demo/slow"}).json()["id"]

    def threads() -> list[str]:
        return [httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                           json={"messages": [{"role": "user", "content": PROMPT}]}).json()["id"]
                for _ in range(STREAMS)]

    opened = ConnectionsOpened()
    connection_created.connect(opened)
    try:
        with override_settings(ENTITIES_MAX_ACTIVE_RUNS_PER_USER=STREAMS * 2):
            endings, held = asyncio.run(_streams(live_entities, alice, threads(), assistant, opened.held_by_requests))
    finally:
        connection_created.disconnect(opened)

    assert endings == ["done"] * STREAMS
    assert opened.wrappers, "no connection was opened: the measurement saw nothing"
    lanes = settings.ENTITIES_REQUEST_THREADS
    assert lanes < STREAMS
    assert held <= lanes, f"{held} request connections open while {STREAMS} streams were: the streams hold them"
