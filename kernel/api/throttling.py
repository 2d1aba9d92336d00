"""Per-API-key and per-user throttles (rates in REST_FRAMEWORK settings, from the env).

A refused request gets 429 with `Retry-After` in the Assistants error envelope
(kernel.api.errors); the openai SDK raises `RateLimitError` and honours it.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self):
        # DRF binds THROTTLE_RATES when the class is defined; reading api_settings per request
        # lets a changed REST_FRAMEWORK setting (a reload, override_settings) apply at once.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for {self.scope!r}") from exc


class ApiKeyRateThrottle(_SettingsRate):
    """Limits each API key separately (JWT requests are not counted here)."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        key = getattr(request, "auth", None)
        prefix = getattr(key, "prefix", None)
        if not prefix:
            return None
        return self.cache_format % {"scope": self.scope, "ident": prefix}


class UserRateThrottle(_SettingsRate):
    """Limits each user across all of their keys and tokens."""

    scope = "user"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
