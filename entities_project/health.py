"""`GET /healthz`: is the database usable, is the channel layer usable, which backends answer."""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

CHECK_TIMEOUT_SECONDS = 3.0


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
    body = {"status": "ok" if database["ok"] and layer["ok"] else "unavailable", "database": database, "channel_layer": layer}
    if request.GET.get("backends") in {"1", "true"}:
        from inference.factory import backends_status

        body["backends"] = await _guard(backends_status())
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
