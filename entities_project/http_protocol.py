"""uvicorn's httptools protocol with a deadline for request headers (`make serve-prod`).

uvicorn 0.38 has none: nothing is armed when a connection opens, and every byte received
cancels the keep-alive timer, so a client that sends its headers a byte at a time (or
nothing at all) holds the connection for ever. Here a connection must deliver a whole
request head within ENTITIES_HEADER_TIMEOUT_SECONDS of opening, and again of each
response completing (the next request on a keep-alive connection); otherwise it is
closed. Bodies and WebSockets are not affected: the deadline ends with the headers.

Used as ``uvicorn --http entities_project.http_protocol:HeaderTimeoutHttpToolsProtocol``.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


def header_timeout() -> float:
    """The deadline in seconds (settings when Django is configured, else the environment)."""
    try:
        from django.conf import settings

        return float(settings.ENTITIES_HEADER_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - settings not configured yet: read what they would
        return float(os.environ.get("ENTITIES_HEADER_TIMEOUT_SECONDS") or DEFAULT_HEADER_TIMEOUT_SECONDS)


class HeaderTimeoutHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes a connection whose request head is late."""

    header_deadline: asyncio.TimerHandle | None = None

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        timeout = header_timeout()
        if timeout > 0:
            self.header_deadline = self.loop.call_later(timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _header_deadline_passed(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm_header_deadline()
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # its next request's head has arrived already
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm_header_deadline()  # the next request's head on this keep-alive connection

    def connection_lost(self, exc) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)
