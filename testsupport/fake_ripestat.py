"""A deterministic fake of RIPEstat's announced-prefixes data call, as a raw ASGI app.

    fake = FakeRipestat()
    with ThreadedUvicorn(fake) as server:
        settings.RIPESTAT_BASE_URL = server.url

It answers ``GET /data/announced-prefixes/data.json?resource=AS…`` in the shape the real
API uses. AS3333 (RIPE NCC) has three prefixes, AS64500 has 60 (more than the tool
passes on), any other AS none. Knobs for the failure cases: ``fail_with`` answers every
request with that status, ``body`` replaces the JSON with raw bytes, ``delay_s`` waits
before answering. ``requests`` records each query string.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

ANNOUNCED: dict[str, list[str]] = {
    "AS3333": ["193.0.0.0/21", "2001:67c:2e8::/48", "193.0.10.0/23"],
    "AS64500": [f"198.51.{i}.0/24" for i in range(60)],
}
QUERY_TIME = "2024-05-01T12:00:00"


class FakeRipestat:
    def __init__(self) -> None:
        self.fail_with: int | None = None
        self.body: bytes | None = None
        self.delay_s = 0.0
        self.requests: list[dict[str, list[str]]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        self.requests.append(query)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if scope["path"] != "/data/announced-prefixes/data.json":
            return await _respond(send, 404, {"status": "error", "messages": [["error", "unknown data call"]]})
        if self.fail_with is not None:
            return await _respond(send, self.fail_with, {"status": "error", "status_code": self.fail_with})
        resource = (query.get("resource") or [""])[0].upper()
        await _respond(send, 200, self.body if self.body is not None else _payload(resource))


def _payload(resource: str) -> dict:
    prefixes = ANNOUNCED.get(resource, [])
    return {
        "messages": [],
        "see_also": [],
        "version": "1.2",
        "data_call_name": "announced-prefixes",
        "data_call_status": "supported - connecting to data sources",
        "cached": False,
        "data": {
            "prefixes": [
                {"prefix": p, "timelines": [{"starttime": "2024-04-17T12:00:00", "endtime": QUERY_TIME}]}
                for p in prefixes
            ],
            "query_starttime": "2024-04-17T12:00:00",
            "query_endtime": QUERY_TIME,
            "resource": resource.removeprefix("AS"),
            "latest_time": QUERY_TIME,
            "earliest_time": "2000-08-01T00:00:00",
        },
        "query_id": "20240501120000-fake",
        "process_time": 1,
        "server_id": "fake",
        "build_version": "fake",
        "status": "ok",
        "status_code": 200,
        "time": QUERY_TIME,
    }


async def _respond(send: Any, status: int, body: dict | bytes) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
