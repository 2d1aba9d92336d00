"""One hierarchy of domain errors, raised by services and mapped once per surface.

REST renders them as the Assistants error envelope (`kernel.api.errors`),
the WebSocket consumer as an `error` frame, the seed route as JSON 400 / `[ERROR]`.
"""

from __future__ import annotations


class EntitiesError(Exception):
    """Base class: carries the envelope fields and the HTTP status that fits."""

    status = 400
    type = "invalid_request_error"
    default_code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code

    def as_error(self) -> dict:
        """The inner object of the error envelope."""
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}


class InvalidRequest(EntitiesError):
    """The request is malformed or breaks a documented limit (400)."""


class NotFound(EntitiesError):
    """Unknown id, or an object that belongs to someone else (404, never 403)."""

    status = 404
    default_code = "not_found"


class RunStateConflict(EntitiesError):
    """The run (or thread) is not in a state that allows this (400, as OpenAI answered)."""

    default_code = "invalid_state"


class LimitExceeded(EntitiesError):
    """A per-user limit (active runs, …) was reached (429)."""

    status = 429
    type = "rate_limit_exceeded"
    default_code = "rate_limit_exceeded"


class BackendUnavailable(EntitiesError):
    """An inference backend could not be reached or misbehaved (used for run last_error)."""

    status = 503
    type = "server_error"
    default_code = "server_error"
