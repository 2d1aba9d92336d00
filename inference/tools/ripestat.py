"""``getAnnouncedPrefixes``: the prefixes an AS announces, from the RIPEstat Data API.

A real HTTP call (``GET {RIPESTAT_BASE_URL}/data/announced-prefixes/data.json``). When
RIPEstat cannot be reached or answers badly, the function returns ``{"error": ...}`` for the
model instead of raising, so the run carries on and the model can say what happened.
"""

from __future__ import annotations

import json

import httpx
from django.conf import settings

from inference.registry import register_function

MAX_PREFIXES = 50  # keeps the tool output (and so the model's context) small
DEFAULT_TIMEOUT_S = 10.0

SCHEMA = {
    "type": "object",
    "properties": {
        "resource": {
            "type": "string",
            "pattern": "^(?:[Aa][Ss])?[0-9]{1,10}$",
            "description": "An autonomous system number, e.g. AS3333 or 3333",
        },
    },
    "required": ["resource"],
    "additionalProperties": False,
}


@register_function(parameters=SCHEMA)
async def getAnnouncedPrefixes(resource: str) -> str:  # noqa: N802 - the seed's name, which models call
    """Get the IP prefixes an autonomous system (e.g. AS3333) announces, from RIPEstat."""
    resource = resource.strip().upper()
    if resource.isdigit():
        resource = "AS" + resource
    url = settings.RIPESTAT_BASE_URL.rstrip("/") + "/data/announced-prefixes/data.json"
    shown_url = f"{url}?resource={resource}"
    timeout = getattr(settings, "RIPESTAT_TIMEOUT", DEFAULT_TIMEOUT_S)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url, params={"resource": resource})
        if response.status_code != 200:
            return _error(shown_url, f"HTTP {response.status_code}")
        payload = response.json()
        prefixes = [entry["prefix"] for entry in payload["data"]["prefixes"]]
    except httpx.TimeoutException:
        return _error(shown_url, f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return _error(shown_url, f"{type(exc).__name__}: {exc}")
    except (ValueError, KeyError, TypeError) as exc:
        return _error(shown_url, f"unexpected response ({type(exc).__name__}: {exc})")
    return json.dumps(
        {
            "resource": resource,
            "prefix_count": len(prefixes),
            "prefixes": prefixes[:MAX_PREFIXES],
            "query_time": payload.get("time"),
        }
    )


def _error(url: str, what: str) -> str:
    return json.dumps({"error": f"RIPEstat request to {url} failed: {what}"})
