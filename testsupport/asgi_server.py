"""Run any ASGI app with uvicorn in a background thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 10.0


class ThreadedUvicorn:
    """A uvicorn server in a daemon thread: `with ThreadedUvicorn(app) as server: server.url`.

    The port is bound before the thread starts, so `.url` is known at once and no other
    process can take the port in between. Extra keyword arguments go to `uvicorn.Config`
    (e.g. `lifespan="on"`, `ws="websockets"`, `loop="uvloop"`).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.app = app
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        options = {
            # No dictConfig of our own: records propagate to pytest's log capture.
            "log_config": None,
            "log_level": "warning",
            "access_log": False,
            # Django's ASGI handler refuses lifespan; fakes do not need it either.
            "lifespan": "off",
            "timeout_graceful_shutdown": 1,
            # The sans-I/O implementation avoids websockets' deprecated legacy API.
            "ws": "websockets-sansio",
        }
        options.update(config)
        self._server = uvicorn.Server(uvicorn.Config(app, **options))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """"http://127.0.0.1:PORT", without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ThreadedUvicorn:
        """Start serving and return once the server accepts connections."""
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}") from self._error
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url} within {STARTUP_TIMEOUT:g} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; open responses are cut off rather than waited for."""
        if self._thread is None:
            return
        self._server.should_exit = True
        # force_exit skips waiting for streams that never end (the fakes' Hang scenario).
        self._server.force_exit = True
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # noqa: BLE001 — reported to start()
            self._error = exc

    def __enter__(self) -> ThreadedUvicorn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
