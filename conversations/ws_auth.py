"""WebSocket authentication: the browser's session, or `?token=` (a JWT or an API key)."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from assistants.keys import KEY_PREFIX, api_key_authenticate


@database_sync_to_async
def _user_for_token(token: str):
    if token.startswith(KEY_PREFIX):
        key = api_key_authenticate(token)
        return key.owner if key else None
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        return auth.get_user(auth.get_validated_token(token.encode()))
    except (InvalidToken, TokenError, Exception):  # noqa: BLE001 - any bad token is simply anonymous
        return None


class TokenAuthMiddleware:
    """Sets ``scope["user"]`` from `?token=` when given, else leaves the session's user."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        if token:
            user = await _user_for_token(token)
            scope = dict(scope, user=user or AnonymousUser())
        return await self.app(scope, receive, send)


def ws_auth_stack(app):
    return AuthMiddlewareStack(TokenAuthMiddleware(app))
