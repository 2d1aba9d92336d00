"""ASGI entry point: HTTP through Django, WebSockets through Channels, and the run engine.

The engine runs on the server's event loop: the first request (or the lifespan startup
under uvicorn) binds it, which also starts the lease renewal and the sweeper that ends
runs left behind by a process that died.

A graceful restart (SIGTERM or SIGINT) drains the engine: no new runs start here, running
ones get ENTITIES_SHUTDOWN_GRACE_SECONDS to finish, what is left is ended with its text
kept, and queued runs are left for the next process (docs/runs.md). Under uvicorn the
signal starts the drain at once (uvicorn then waits for open responses, and the lifespan
shutdown waits for the drain); under daphne (``make run``, no lifespan) a Twisted
"before shutdown" trigger runs it.
"""

import asyncio
import os
import signal
import sys
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")

from entities_project.request_threads import get_laned_asgi_application, request_threads  # noqa: E402

django_asgi_app = get_laned_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from conversations.engine.runtime import runtime  # noqa: E402
from entities_project.routing import websocket_application  # noqa: E402

router = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_hooked = False


async def stop_engine() -> None:
    """Drain the engine, then stop it and the request threads (the server is going away)."""
    await runtime.stop_gracefully(timeout=5.0)
    await asyncio.to_thread(request_threads.close)


def _drain_on_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Start the drain when SIGTERM/SIGINT arrives, then let the server's own handler run."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    for sig in SHUTDOWN_SIGNALS:
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            loop.call_soon_threadsafe(runtime.begin_drain)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


def _drain_before_twisted_shutdown() -> None:
    """Under daphne: make the reactor wait for the drain before it stops (SIGTERM/SIGINT stop it)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not getattr(reactor, "running", False):
        return
    from twisted.internet import defer

    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: defer.Deferred.fromFuture(asyncio.ensure_future(stop_engine())))


async def application(scope, receive, send):
    global _hooked
    runtime.bind(asyncio.get_running_loop())
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _hooked = True
                _drain_on_signals(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stop_engine()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if not _hooked:
        _hooked = True
        _drain_before_twisted_shutdown()
    return await router(scope, receive, send)
