"""The one mapping from exceptions to the Assistants error envelope.

`{"error": {"message", "type", "param", "code"}}` with the status that fits; never an
HTML page, never a stack trace.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from kernel.errors import EntitiesError

log = logging.getLogger(__name__)


DATA_ERROR_MESSAGE = "A value in the request cannot be stored or looked up (e.g. a NUL character or a number out of range)."


def envelope(message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_json_response(status: int, message: str, **fields) -> JsonResponse:
    """A plain Django JSON response in the envelope (for middleware and async views)."""
    response = JsonResponse(envelope(message, **fields), status=status)
    if status >= 500:
        response["x-should-retry"] = "false"
    return response


def _first_validation_error(detail, path: str = "") -> tuple[str | None, str]:
    """Flatten DRF's nested ValidationError detail into (param, message)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            sub = f"{path}.{name}" if path and name else (name or path)
            return _first_validation_error(value, sub)
    if isinstance(detail, list):
        if not detail:
            return path or None, "Invalid value."
        for i, item in enumerate(detail):
            if isinstance(item, (dict, list)) and item:
                return _first_validation_error(item, f"{path}[{i}]" if path else f"[{i}]")
        return path or None, str(detail[0])
    return path or None, str(detail)


def api_exception_handler(exc, context) -> Response | None:
    """DRF EXCEPTION_HANDLER: render every error as the Assistants envelope."""
    request = context.get("request")
    status, body, headers = error_for(exc, method=getattr(request, "method", None))
    return Response(body, status=status, headers=headers)


def error_json_response_for(exc: BaseException, *, method: str | None = None) -> JsonResponse:
    """``error_for`` as a plain Django response (middleware, async views)."""
    status, body, headers = error_for(exc, method=method)
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def error_for(exc: BaseException, *, method: str | None = None) -> tuple[int, dict, dict]:
    """The one mapping from an exception to (status, envelope, headers), for every HTTP surface:
    DRF's exception handler and the middleware that catches what escapes other views."""
    headers = {}
    if isinstance(exc, EntitiesError):
        status, body = exc.status, {"error": exc.as_error()}
    elif isinstance(exc, drf.ValidationError):
        param, message = _first_validation_error(exc.detail)
        if param:
            message = f"Invalid '{param}': {message}" if not message.startswith(("Invalid", "Missing", "Unknown")) else message
        status, body = 400, envelope(message, param=param or None, code="invalid_value")
    elif isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(max(wait, 1))
        status, body = 429, envelope(
            f"Rate limit reached: too many requests. Retry after {max(wait, 1)} seconds.",
            type="rate_limit_exceeded",
            code="rate_limit_exceeded",
        )
    elif isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        status, body = 401, envelope(
            str(exc.detail) if isinstance(exc, drf.AuthenticationFailed) else
            "Missing credentials: send 'Authorization: Bearer <API key or JWT>'.",
            code="invalid_api_key",
        )
    elif isinstance(exc, (drf.NotFound, Http404)):
        status, body = 404, envelope("No such object.", code="not_found")
    elif isinstance(exc, drf.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        # A browser session writing without the token (SessionAuthentication): say so, since
        # a 404 would send the UI's author looking for a missing object.
        status, body = 403, envelope("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                                     "header, or authenticate with an API key.", code="csrf_failed")
    elif isinstance(exc, (drf.PermissionDenied, PermissionDenied)):
        # Ownership never leaks: objects of others are handled as NotFound in selectors.
        status, body = 404, envelope("No such object.", code="not_found")
    elif isinstance(exc, drf.MethodNotAllowed):
        status, body = 405, envelope(f"Method {method} is not allowed on this path.", code="method_not_allowed")
    elif isinstance(exc, drf.ParseError):
        status, body = 400, envelope(f"Could not parse the JSON body: {exc.detail}", code="invalid_json")
    elif isinstance(exc, drf.UnsupportedMediaType):
        status, body = 400, envelope("Send the body as JSON with 'Content-Type: application/json'.", code="unsupported_media_type")
    elif isinstance(exc, drf.NotAcceptable):
        status, body = 400, envelope("Cannot produce the requested media type.", code="not_acceptable")
    elif isinstance(exc, DataError):
        # A value validation let through that the database cannot store or compare (on
        # PostgreSQL: NUL in an id or query value, a number out of a column's range).
        status, body = 400, envelope(DATA_ERROR_MESSAGE, code="invalid_value")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("database unavailable: %s", exc)
        headers["Retry-After"] = "1"
        headers["x-should-retry"] = "false"
        status, body = 503, envelope("The database is unavailable for a moment; retry shortly.", type="server_error",
                                     code="database_unavailable")
    elif isinstance(exc, RequestDataTooBig):
        status, body = 413, envelope("Request body too large.", code="request_too_large")
    elif isinstance(exc, drf.APIException):
        status, body = exc.status_code, envelope(str(exc.detail))
    else:
        log.exception("unhandled error in an API request", exc_info=exc)
        status, body = 500, envelope("The server had an error while processing your request.", type="server_error", code="server_error")
        headers["x-should-retry"] = "false"
    return status, body, headers
