"""HTTP clients shared per event loop, and the timeouts they use.

httpx and openai async clients bind their connection pool to the event loop that first
used them; sharing one across loops (Daphne's loop, a test's loop, `async_to_sync`'s
loops) fails with "attached to a different loop". So each loop gets its own clients,
forgotten when the loop is garbage-collected.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import httpx
from django.conf import settings

# Sending a request body should never take long, even a large prompt on a LAN.
WRITE_TIMEOUT = 30.0
# list_models() is used for /v1/models and status pages: answer fast or not at all.
LIST_MODELS_TIMEOUT = 2.0

ClientT = TypeVar("ClientT")
_caches: list[LoopLocal] = []


def stream_timeout() -> httpx.Timeout:
    """The timeouts for a streamed reply, read from settings at call time.

    `read` bounds the gap between two chunks, not the whole reply; `pool` bounds the wait
    for a free connection when INFERENCE_MAX_CONNECTIONS are all busy.
    """
    return httpx.Timeout(
        connect=settings.INFERENCE_CONNECT_TIMEOUT,
        read=settings.INFERENCE_READ_TIMEOUT,
        write=WRITE_TIMEOUT,
        pool=settings.INFERENCE_READ_TIMEOUT,
    )


def connection_limits() -> httpx.Limits:
    """Pool limits: keep as many idle connections as we may open, to avoid reconnect churn."""
    maximum = settings.INFERENCE_MAX_CONNECTIONS
    return httpx.Limits(max_connections=maximum, max_keepalive_connections=maximum)


def settings_key() -> tuple:
    """The settings a client is built from; a change (tests, reload) gets a fresh client."""
    return (
        settings.INFERENCE_CONNECT_TIMEOUT,
        settings.INFERENCE_READ_TIMEOUT,
        settings.INFERENCE_MAX_CONNECTIONS,
    )


class LoopLocal(Generic[ClientT]):
    """A cache of clients keyed by the running event loop and a caller-chosen key."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, ClientT]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable, make: Callable[[], ClientT]) -> ClientT:
        """Return this loop's client for `key`, creating it with `make()` the first time.

        Must be called from inside a running event loop.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            clients = self._by_loop.setdefault(loop, {})
            client = clients.get(key)
            if client is None:
                client = clients[key] = make()
            return client

    def pop_current_loop(self) -> list[ClientT]:
        """Forget and return this loop's clients, so the caller can close them."""
        loop = asyncio.get_running_loop()
        with self._lock:
            return list(self._by_loop.pop(loop, {}).values())


async def aclose_loop_clients() -> None:
    """Close every client this event loop opened (server shutdown, end of a test)."""
    for cache in list(_caches):
        for client in cache.pop_current_loop():
            # httpx clients have aclose(); the openai SDK's async client has close().
            closer = getattr(client, "aclose", None) or client.close
            await closer()


def transport_error_message(exc: BaseException, *, url: str, hint: str) -> str:
    """An actionable sentence for an httpx transport error talking to the server at `url`.

    `hint` says how to point us at a running server, e.g. "start Ollama (`ollama serve`)
    or set OLLAMA_HOST". Timeouts name the setting that bounded them.
    """
    if isinstance(exc, httpx.ConnectTimeout):
        return (
            f"the model server at {url} did not accept a connection within "
            f"{settings.INFERENCE_CONNECT_TIMEOUT:g} s (INFERENCE_CONNECT_TIMEOUT) — {hint}"
        )
    if isinstance(exc, httpx.ReadTimeout):
        return f"the model server at {url} stopped sending for {settings.INFERENCE_READ_TIMEOUT:g} s (INFERENCE_READ_TIMEOUT)"
    if isinstance(exc, httpx.WriteTimeout):
        return f"the model server at {url} did not take the request within {WRITE_TIMEOUT:g} s"
    if isinstance(exc, httpx.PoolTimeout):
        return (
            f"all {settings.INFERENCE_MAX_CONNECTIONS} connections to the model server at {url} stayed busy for "
            f"{settings.INFERENCE_READ_TIMEOUT:g} s — raise INFERENCE_MAX_CONNECTIONS or lower the load"
        )
    if isinstance(exc, httpx.ConnectError):
        return f"no model server answered at {url} — {hint}"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return f"the model server at {url} closed the connection mid-reply"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return f"{url!r} is not a usable http(s) URL — {hint}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"the model server at {url} did not answer within {LIST_MODELS_TIMEOUT:g} s"
    return f"talking to the model server at {url} failed ({type(exc).__name__}: {exc})"
