"""`GET /healthz`: is the database usable, is the channel layer usable, which backends answer.

Anyone gets the status and an ``ok`` per part: enough for a load balancer. Details (the
database vendor, timings, error texts, and with ``?backends=1`` each backend's URL and
whether a cloud key is set) go only to staff: a signed-in staff user, a staff user's API
key, or the metrics token. Backend probes are cached for ENTITIES_HEALTH_PROBE_SECONDS,
so no caller can make the server dial out once per request (docs/security.md).
"""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

CHECK_TIMEOUT_SECONDS = 3.0


class _ProbeCache:
    """The last backends_status() answer, reused while younger than the interval; one
    probe at a time however many callers arrive together. Rebuilt backends (new settings:
    InferenceFactory.reset()) are probed afresh."""

    def __init__(self) -> None:
        self.value: dict | None = None
        self.backends: tuple = ()
        self.at = float("-inf")
        self.lock: asyncio.Lock | None = None
        self.loop = None

    async def get(self) -> dict:
        from django.conf import settings

        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:  # a lock belongs to one event loop
            self.lock, self.loop = asyncio.Lock(), loop
        from inference.factory import InferenceFactory, backends_status
        from inference.routing import KNOWN_TYPES

        async with self.lock:
            backends = tuple(InferenceFactory.get_inference(t) for t in KNOWN_TYPES)
            stale = time.monotonic() - self.at >= settings.ENTITIES_HEALTH_PROBE_SECONDS
            if self.value is None or stale or any(a is not b for a, b in zip(backends, self.backends)):
                self.value = await _guard(backends_status())
                self.at, self.backends = time.monotonic(), backends
            return self.value


backend_probes = _ProbeCache()


def _is_staff_sync(request) -> bool:
    from django.conf import settings

    token = getattr(settings, "ENTITIES_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header == f"Bearer {token}":
        return True
    if header.startswith("Bearer "):
        from assistants.keys import api_key_authenticate

        key = api_key_authenticate(header[len("Bearer "):].strip())
        return bool(key and key.owner.is_staff)
    user = request.user  # the session's (AuthenticationMiddleware)
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _public(part: dict) -> dict:
    return {"ok": bool(part.get("ok"))}


def _check_database() -> dict:
    start = time.perf_counter()
    connection.close_if_unusable_or_obsolete()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # Drop this worker thread's connection so the next check reconnects once the database is back.
        connection.close()
        raise
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - start) * 1000, 2)}


async def _check_channel_layer() -> dict:
    layer = get_channel_layer()
    start = time.perf_counter()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "healthz.ping"})
    await layer.receive(channel)
    return {"ok": True, "backend": type(layer).__name__, "ms": round((time.perf_counter() - start) * 1000, 2)}


async def _guard(coro) -> dict:
    try:
        return await asyncio.wait_for(coro, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def healthz(request):
    """200 when the database and the channel layer work, 503 when either does not."""
    database, layer = await asyncio.gather(
        _guard(sync_to_async(_check_database, thread_sensitive=False)()), _guard(_check_channel_layer())
    )
    status = "ok" if database["ok"] and layer["ok"] else "unavailable"
    staff = await sync_to_async(_is_staff_sync, thread_sensitive=False)(request)
    if not staff:
        database, layer = _public(database), _public(layer)
    body = {"status": status, "database": database, "channel_layer": layer}
    if request.GET.get("backends") in {"1", "true"}:
        backends = await backend_probes.get()
        if not staff:  # whether each answers, not where it is or how it is configured
            backends = {name: _public(probe) for name, probe in backends.items() if isinstance(probe, dict)}
        body["backends"] = backends
    return JsonResponse(body, status=200 if status == "ok" else 503)
