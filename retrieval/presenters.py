"""The public objects of the vector store routes, exactly as the SDK's types have them."""

from __future__ import annotations

from django.utils import timezone

from kernel.timestamps import unix
from retrieval.models import FileBatch, VectorStore, VectorStoreFile


def store_status(store: VectorStore, counts: dict) -> str:
    if store.expires_at is not None and store.expires_at <= timezone.now():
        return "expired"
    return "in_progress" if counts["in_progress"] else "completed"


def vector_store_object(store: VectorStore, counts: dict, usage_bytes: int) -> dict:
    """The vector store as OpenAI shows it: ``expires_after`` only when the store has a policy
    (the spec's schema has no null for it)."""
    payload = {
        "id": store.id,
        "object": "vector_store",
        "created_at": unix(store.created_at),
        "name": store.name,
        "description": store.description,
        "usage_bytes": usage_bytes,
        "file_counts": counts,
        "status": store_status(store, counts),
        "expires_after": store.expires_after,
        "expires_at": unix(store.expires_at),
        "last_active_at": unix(store.last_active_at),
        "metadata": store.metadata or {},
    }
    if store.expires_after is None:
        del payload["expires_after"]
    return payload


def _strategy(value: dict | None) -> dict:
    if value and value.get("type") == "static":
        return value
    # OpenAI reports the resolved sizes of `auto` as a static strategy.
    return {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}


def store_file_object(row: VectorStoreFile) -> dict:
    return {
        "id": row.file_id,
        "object": "vector_store.file",
        "created_at": unix(row.created_at),
        "vector_store_id": row.vector_store_id,
        "usage_bytes": row.usage_bytes,
        "status": row.status,
        "last_error": row.last_error,
        "attributes": row.attributes or {},
        "chunking_strategy": _strategy(row.chunking_strategy),
    }


def batch_object(batch: FileBatch, counts: dict) -> dict:
    if batch.cancelled_at:
        status = "cancelled"  # its unfinished files were cancelled with it
    elif counts["in_progress"]:
        status = "in_progress"
    elif counts["total"] and counts["failed"] == counts["total"]:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": batch.id,
        "object": "vector_store.files_batch",
        "created_at": unix(batch.created_at),
        "vector_store_id": batch.vector_store_id,
        "status": status,
        "file_counts": counts,
    }
