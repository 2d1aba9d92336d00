"""What every write to a store shares: expiry from activity, the usable check, the index version."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from kernel.errors import InvalidRequest
from retrieval.models import VectorStore


def expiry(expires_after: dict | None, last_active_at):
    """``expires_at`` for an ``expires_after`` policy ({anchor: last_active_at, days})."""
    if not expires_after:
        return None
    return last_active_at + timedelta(days=int(expires_after["days"]))


def store_touch(store: VectorStore) -> None:
    """Mark the store used now (search, attach): moves ``expires_at`` with ``last_active_at``."""
    now = timezone.now()
    store.last_active_at = now
    store.expires_at = expiry(store.expires_after, now)
    VectorStore.objects.filter(pk=store.pk).update(last_active_at=now, expires_at=store.expires_at)


def ensure_usable(store: VectorStore) -> None:
    """An expired store can be read and deleted, not searched or added to (as OpenAI)."""
    if store.expires_at is not None and store.expires_at <= timezone.now():
        raise InvalidRequest(f"Vector store '{store.id}' has expired (expires_after: {store.expires_after}).",
                             param="vector_store_id", code="vector_store_expired")


def bump_index(store_id: str) -> None:
    """The store's chunks or attributes changed: cached search indexes of it are stale."""
    VectorStore.objects.filter(pk=store_id).update(index_version=F("index_version") + 1)
