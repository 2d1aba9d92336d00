"""The list and deleted envelopes every /v1 resource shares."""

from __future__ import annotations


def deleted_object(object_id: str, kind: str) -> dict:
    """`{"id", "object": "<kind>.deleted", "deleted": true}`, as OpenAI answers a DELETE."""
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


def list_object(items: list[dict], has_more: bool) -> dict:
    """A cursor page: `data`, `first_id`, `last_id`, `has_more`."""
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }
