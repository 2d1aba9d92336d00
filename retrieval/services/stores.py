"""Vector stores: create, modify, delete, and keeping last_active_at / expires_at true."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from kernel.errors import InvalidRequest
from retrieval.models import VectorStore


def _expiry(expires_after: dict | None, last_active_at):
    if not expires_after:
        return None
    return last_active_at + timedelta(days=int(expires_after["days"]))


def store_create(*, user, name: str, description: str | None, metadata: dict, expires_after: dict | None,
                 file_ids: list[str], chunking_strategy: dict | None) -> VectorStore:
    """A new store; ``file_ids`` are attached (and queued for ingestion) in the same transaction."""
    from retrieval.services.files import attach_files

    now = timezone.now()
    with transaction.atomic():
        store = VectorStore.objects.create(owner=user, name=name, description=description, metadata=metadata,
                                           expires_after=expires_after, last_active_at=now,
                                           expires_at=_expiry(expires_after, now))
        if file_ids:
            attach_files(store=store, user=user,
                         items=[{"file_id": i, "attributes": None, "chunking_strategy": chunking_strategy}
                                for i in file_ids])
    return store


def store_update(*, store: VectorStore, **fields) -> VectorStore:
    for key in ("name", "metadata"):
        if key in fields:
            setattr(store, key, fields[key])
    if "expires_after" in fields:
        store.expires_after = fields["expires_after"]
        store.expires_at = _expiry(store.expires_after, store.last_active_at)
    store.save(update_fields=["name", "metadata", "expires_after", "expires_at"])
    return store


def store_delete(*, store: VectorStore) -> None:
    store.delete()


def store_touch(store: VectorStore) -> None:
    """Mark the store used now (search, attach): moves ``expires_at`` with ``last_active_at``."""
    now = timezone.now()
    store.last_active_at = now
    store.expires_at = _expiry(store.expires_after, now)
    VectorStore.objects.filter(pk=store.pk).update(last_active_at=now, expires_at=store.expires_at)


def ensure_usable(store: VectorStore) -> None:
    """An expired store can be read and deleted, not searched or added to (as OpenAI)."""
    if store.expires_at is not None and store.expires_at <= timezone.now():
        raise InvalidRequest(f"Vector store '{store.id}' has expired (expires_after: {store.expires_after}).",
                             param="vector_store_id", code="vector_store_expired")
