"""API keys: creation, lookup in constant time, revocation.

A raw key looks like ``ent-<prefix>-<secret>``. Only its SHA-256 digest is stored;
lookup goes by the visible prefix and the digests are compared with
``hmac.compare_digest``, so timing says nothing about the secret.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from assistants.models import ApiKey

KEY_PREFIX = "ent-"
# last_used_at is refreshed at most this often, so a busy key does not write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(*, user, name: str = "default") -> CreatedKey:
    """Create a key for ``user``; the raw value is returned once and never stored."""
    prefix = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}{prefix}-{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(owner=user, name=name[:100] or "default", prefix=prefix, digest=_digest(raw))
    return CreatedKey(key=key, raw=raw)


class _RecentKeys:
    """Keys that authenticated in the last ENTITIES_API_KEY_CACHE_SECONDS, in this process.

    Looking the key and its owner up was 12–17% of a simple REST request (bench S4). An
    entry is keyed by the digest of the whole raw key, so only the same secret hits it.
    Revoking a key, or saving a key or user here, drops entries at once; another process
    notices a revocation within the TTL (documented in docs/security.md).
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> ApiKey | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return _detached(entry[1])

    def put(self, digest: str, key: ApiKey) -> None:
        ttl = settings.ENTITIES_API_KEY_CACHE_SECONDS
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHED_KEYS:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + ttl, _detached(key))

    def forget(self, *, key_pk: int | None = None, owner_pk: int | None = None) -> None:
        with self._lock:
            for digest, (_, key) in list(self._entries.items()):
                if key.pk == key_pk or key.owner_id == owner_pk:
                    del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _detached(key: ApiKey) -> ApiKey:
    """A copy of ``key`` and its owner, so per-request attributes never leak between requests
    (neither from the request that filled the cache nor between those that read it)."""
    clone = copy.copy(key)
    clone.owner = copy.copy(key.owner)
    return clone


MAX_CACHED_KEYS = 10_000
recent_keys = _RecentKeys()


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None. Marks it used (coarsely)."""
    if not raw.startswith(KEY_PREFIX):
        return None
    digest = _digest(raw)
    cached = recent_keys.get(digest)
    if cached is not None:
        return cached
    prefix = raw[len(KEY_PREFIX):].split("-", 1)[0]
    key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, digest):
        return None
    if key.revoked_at is not None or not key.owner.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    recent_keys.put(digest, key)
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke ``key``; requests with it get 401 from now on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    recent_keys.forget(key_pk=key.pk)
    return key


def user_get_or_create(*, username: str, is_staff: bool = False):
    """The user called ``username``, created (with an unusable password) if missing."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": is_staff})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, created
