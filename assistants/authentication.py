"""DRF authentication: per-user API keys and simplejwt tokens, both as `Bearer`."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from assistants.keys import KEY_PREFIX, api_key_authenticate


def bearer_token(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    parts = header.split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer ent-…`: an Entities API key."""

    def authenticate(self, request):
        token = bearer_token(request)
        if not token or not token.startswith(KEY_PREFIX):
            return None
        key = api_key_authenticate(token)
        if key is None:
            raise exceptions.AuthenticationFailed("Incorrect or revoked API key provided.")
        return key.owner, key

    def authenticate_header(self, request):
        return 'Bearer realm="entities"'


class BearerJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <JWT>` from /api/token/; errors in our own words."""

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None or token.startswith(KEY_PREFIX):
            return None
        try:
            validated = self.get_validated_token(token.encode())
            return self.get_user(validated), validated
        except (InvalidToken, TokenError, exceptions.AuthenticationFailed) as exc:
            raise exceptions.AuthenticationFailed("Invalid or expired token: send a valid API key or JWT.") from exc
