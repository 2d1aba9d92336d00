"""WebSocket authentication: the browser's session, or `?token=` (a JWT or an API key).

Checked at connect, and again while the socket is open (:class:`CredentialCheck`): a key
revoked, a user deactivated, a JWT expired or a session signed out closes the socket
with 4401 within ENTITIES_API_KEY_CACHE_SECONDS, and no frame is acted on with
credentials older than that (docs/security.md, docs/websocket.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import import_module
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack, get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from assistants.keys import KEY_PREFIX, api_key_authenticate

log = logging.getLogger(__name__)

# The periodic check never spins faster than this, even with the cache interval set to 0.
MIN_RECHECK_SECONDS = 0.25


def _user_and_expiry(token: str):
    """(user, JWT expiry as a Unix time or None) for a token; (None, None) when it is not good."""
    if token.startswith(KEY_PREFIX):
        key = api_key_authenticate(token)
        return (key.owner if key else None), None
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        validated = auth.get_validated_token(token.encode())
        return auth.get_user(validated), validated.get("exp")
    except (InvalidToken, TokenError, Exception):  # noqa: BLE001 - any bad token is simply anonymous
        return None, None


_user_for_token = database_sync_to_async(_user_and_expiry)


class TokenAuthMiddleware:
    """Sets ``scope["user"]`` from `?token=` when given, else leaves the session's user.

    The token and its expiry stay in the scope (``entities_token``, ``entities_token_exp``)
    so the consumer can check them again later.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
        token = (query.get("token") or [""])[0]
        if token:
            user, expires = await _user_for_token(token)
            scope = dict(scope, user=user or AnonymousUser(), entities_token=token, entities_token_exp=expires)
        return await self.app(scope, receive, send)


def ws_auth_stack(app):
    return AuthMiddlewareStack(TokenAuthMiddleware(app))


async def _session_user(session_key: str | None):
    """The user a stored session still signs in (AnonymousUser once it is gone or stale)."""
    if not session_key:
        return AnonymousUser()
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return await get_user({"session": store})


class CredentialCheck:
    """Whether the credentials an open socket connected with are still good.

    A token (API key or JWT) is looked up again, through the same code as at connect
    (an API key through the per-process cache, so a busy socket costs no query); a
    session is read again from the session store. ``ok()`` answers from the last
    look-up while it is younger than ENTITIES_API_KEY_CACHE_SECONDS; a JWT's own expiry
    is compared on every call.
    """

    def __init__(self, scope) -> None:
        self.scope = scope
        user = scope.get("user")
        self.user_pk = getattr(user, "pk", None)
        self.token = scope.get("entities_token")
        self.expires = scope.get("entities_token_exp")
        session = scope.get("session")
        self.session_key = getattr(session, "session_key", None) if not self.token else None
        self.checked_at = time.monotonic()
        self.good = True

    @staticmethod
    def interval() -> float:
        return float(settings.ENTITIES_API_KEY_CACHE_SECONDS)

    def _expired(self) -> bool:
        return self.expires is not None and time.time() >= float(self.expires)

    async def _lookup(self) -> bool:
        if not self.token and "session" not in self.scope:
            return True  # a user set on the scope directly (tests' communicators): nothing to look up again
        if self.token:
            user, expires = await _user_for_token(self.token)
            self.expires = expires if expires is not None else self.expires
        else:
            user = await _session_user(self.session_key)
        return bool(user is not None and user.is_authenticated and user.is_active and user.pk == self.user_pk)

    async def ok(self, *, force: bool = False) -> bool:
        """True while the socket may act; once False it stays False."""
        if not self.good or self._expired():
            self.good = False
            return False
        if force or time.monotonic() - self.checked_at >= self.interval():
            try:
                self.good = await self._lookup()
            except Exception:  # noqa: BLE001 - the database is away: not a reason to sign anyone out
                log.warning("could not re-check a websocket's credentials", exc_info=True)
                return self.good
            self.checked_at = time.monotonic()
        return self.good

    async def watch(self, on_bad) -> None:
        """Check every interval (sooner when a JWT expires first); await ``on_bad()`` once it fails."""
        while True:
            delay = max(self.interval(), MIN_RECHECK_SECONDS)
            if self.expires is not None:
                delay = min(delay, max(float(self.expires) - time.time(), 0.0) + 0.05)
            await asyncio.sleep(delay)
            if not await self.ok(force=True):
                await on_bad()
                return
