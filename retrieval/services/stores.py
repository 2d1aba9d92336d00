"""Vector stores: create (with files), modify, delete."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from retrieval.models import VectorStore
from retrieval.services.activity import expiry
from retrieval.services.files import attach_files


def store_create(*, user, name: str, description: str | None, metadata: dict, expires_after: dict | None,
                 file_ids: list[str], chunking_strategy: dict | None) -> VectorStore:
    """A new store; ``file_ids`` are attached (and queued for ingestion) in the same transaction."""
    now = timezone.now()
    with transaction.atomic():
        store = VectorStore.objects.create(owner=user, name=name, description=description, metadata=metadata,
                                           expires_after=expires_after, last_active_at=now,
                                           expires_at=expiry(expires_after, now))
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
        store.expires_at = expiry(store.expires_after, store.last_active_at)
    store.save(update_fields=["name", "metadata", "expires_after", "expires_at"])
    return store


def store_delete(*, store: VectorStore) -> None:
    store.delete()
