"""A fixed set of long-lived threads for Django's synchronous request code under ASGI.

Django's ASGI handler gives every request a fresh thread for its sync views and
middleware (``ThreadSensitiveContext()``), so each request also opened, and closed, its
own database connection: about two thirds of the CPU of a simple REST request (bench S4).
Here each request runs on one of ENTITIES_REQUEST_THREADS lanes, the least busy one: a
single-thread executor that lives as long as the process and keeps its connection (up to
CONN_MAX_AGE, health-checked at the start of each request). All sync work of one request
still runs on one thread, as Django requires; requests on a lane take turns on it.

A streamed response does not hold its lane: the stream is async code on the event loop.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

CLOSE_TIMEOUT_SECONDS = 10.0


class _Lane:
    def __init__(self, index: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"entities-request-{index}")
        self.in_flight = 0


class RequestThreads:
    """The lanes, created on first use and closed (connections included) by ``close()``."""

    def __init__(self) -> None:
        self._lanes: list[_Lane] = []
        self._lock = threading.Lock()

    def acquire(self) -> _Lane:
        """The least busy lane (the first of equals, so quiet periods reuse one connection)."""
        lanes = self._lanes or self._create()
        lane = min(lanes, key=lambda candidate: candidate.in_flight)
        lane.in_flight += 1
        return lane

    @staticmethod
    def release(lane: _Lane) -> None:
        lane.in_flight -= 1

    def _create(self) -> list[_Lane]:
        with self._lock:
            if not self._lanes:
                self._lanes = [_Lane(i) for i in range(settings.ENTITIES_REQUEST_THREADS)]
            return self._lanes

    def close(self) -> None:
        """Close every lane's database connections and end the threads (blocking).

        Called at server shutdown and when a test server stops: PostgreSQL cannot drop a
        database that idle connections still use.
        """
        with self._lock:
            lanes, self._lanes = self._lanes, []
        futures = [lane.executor.submit(connections.close_all) for lane in lanes]
        for future in futures:
            future.result(timeout=CLOSE_TIMEOUT_SECONDS)
        for lane in lanes:
            lane.executor.shutdown(wait=True)


request_threads = RequestThreads()


class LanedASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request's sync code on a lane (see the module doc)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        lane = request_threads.acquire()
        try:
            async with ThreadSensitiveContext(executor=lane.executor):
                await self.handle(scope, receive, send)
        finally:
            request_threads.release(lane)


def get_laned_asgi_application() -> LanedASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with request lanes."""
    import django

    django.setup(set_prefix=False)
    return LanedASGIHandler()
