"""WebSocket routing: one socket per thread, authenticated by session or token."""

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from conversations.consumers import ThreadConsumer
from conversations.ws_auth import ws_auth_stack

websocket_urlpatterns = [
    path("ws/threads/<str:thread_id>/", ThreadConsumer.as_asgi()),
]



class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin: it must be one of ALLOWED_HOSTS (no cross-site sockets
    riding on a session cookie). Non-browser clients send none and authenticate by token."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def _allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


websocket_application = BrowserOriginValidator(ws_auth_stack(URLRouter(websocket_urlpatterns)), _allowed_origins())
