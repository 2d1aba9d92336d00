"""ASGI entry point: HTTP through Django, WebSockets through Channels, and the run engine.

The engine runs on the server's event loop: the first request (or the lifespan startup
under uvicorn) binds it, which also starts the lease renewal and the sweeper that ends
runs left behind by a process that died.
"""

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")

from entities_project.request_threads import get_laned_asgi_application, request_threads  # noqa: E402

django_asgi_app = get_laned_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from conversations.engine.runtime import runtime  # noqa: E402
from entities_project.routing import websocket_application  # noqa: E402

router = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})


async def application(scope, receive, send):
    runtime.bind(asyncio.get_running_loop())
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await runtime.shutdown(timeout=5.0)
                await asyncio.to_thread(request_threads.close)
                await send({"type": "lifespan.shutdown.complete"})
                return
    return await router(scope, receive, send)
