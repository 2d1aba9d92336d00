"""WebSocket routing: one socket per thread, authenticated by session or token."""

from __future__ import annotations

from urllib.parse import urlparse

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from conversations.consumers import ThreadConsumer
from conversations.ws_auth import ws_auth_stack

websocket_urlpatterns = [
    path("ws/threads/<str:thread_id>/", ThreadConsumer.as_asgi()),
]

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) origin, default ports filled in; None if it is not one."""
    try:
        parsed = urlparse(url.strip().lower())
        if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
            return None
        return parsed.scheme, parsed.hostname, parsed.port or DEFAULT_PORTS[parsed.scheme]
    except ValueError:  # a port that is not a number
        return None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


def _site_scheme(scope) -> str:
    """The scheme the browser used: https for wss, or when the trusted proxy header says so."""
    if scope.get("scheme") == "wss":
        return "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, value = proxy
        name = header.removeprefix("HTTP_").lower().replace("_", "-").encode()
        if (_header(scope, name) or "").split(",")[0].strip() == value:
            return "https"
    return "http"


def origin_allowed(scope, origin: str) -> bool:
    """The Origin is this site: the scheme, host and port the socket was opened on (its Host
    header, which ALLOWED_HOSTS must accept), or exactly one of CSRF_TRUSTED_ORIGINS."""
    seen = _origin_tuple(origin)
    if seen is None:
        return False
    host = _header(scope, b"host") or ""
    domain, _ = split_domain_port(host)
    if domain and validate_host(domain, _allowed_hosts()):
        if seen == _origin_tuple(f"{_site_scheme(scope)}://{host}"):
            return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "://*." in trusted:  # https://*.example.com: its subdomains, same scheme and port
            base = _origin_tuple(trusted.replace("://*.", "://", 1))
            if base and (seen[0], seen[2]) == (base[0], base[2]) and seen[1].endswith("." + base[1]):
                return True
        elif seen == _origin_tuple(trusted):
            return True
    return False


class BrowserOriginValidator:
    """Browsers always send Origin: it must be this very site (no cross-site sockets riding on
    a session cookie, and no other port of the same host). Non-browser clients send none
    and authenticate by token."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is None or origin_allowed(scope, origin):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


websocket_application = BrowserOriginValidator(ws_auth_stack(URLRouter(websocket_urlpatterns)))
