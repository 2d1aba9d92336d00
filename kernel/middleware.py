"""Middleware that keeps /v1 and /api answering in the error envelope.

Django itself answers an oversized body with a 400 HTML page and an unknown URL with a
404 HTML page; API clients get the JSON envelope instead (413, 404, 500).
"""

from __future__ import annotations

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from kernel.api.errors import error_json_response, error_json_response_for

log = logging.getLogger(__name__)

API_PREFIXES = ("/v1/", "/api/")


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path == "/v1"


class _HookMiddleware:
    """Sync- and async-capable middleware built from two hooks: ``before(request)`` may
    answer instead of the view; ``after(request, response)`` may replace the response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def before(self, request):
        return None

    def after(self, request, response):
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self.before(request) or self.after(request, self.get_response(request))

    async def __acall__(self, request):
        return self.before(request) or self.after(request, await self.get_response(request))


def _spooled_length(request) -> int | None:
    stream = getattr(request, "_stream", None)
    try:
        position = stream.tell()
        stream.seek(0, 2)
        length = stream.tell() - position
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return length


class BodySizeLimitMiddleware(_HookMiddleware):
    """Refuse bodies larger than ENTITIES_MAX_BODY_BYTES with 413, before anything reads them.

    Routes named in ENTITIES_LARGE_BODY_ROUTES ((method, path) → bytes: the file upload)
    get their own, larger limit; their bodies are streamed to disk by the view.
    """

    def before(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        large = getattr(settings, "ENTITIES_LARGE_BODY_ROUTES", {}).get((request.method, request.path))
        limit = large or settings.ENTITIES_MAX_BODY_BYTES
        if large and not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # An upload route: under ASGI the body already sits in a spooled temporary file;
            # measure it there instead of reading it into memory.
            length = _spooled_length(request)
            if length is None:
                return error_json_response(411, "Send the upload with a Content-Length header.", code="length_required")
            request.META["CONTENT_LENGTH"] = str(length)
        if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # A chunked body has no Content-Length: Django would let it past DATA_UPLOAD_MAX_MEMORY_SIZE
            # and DRF would parse it as empty. Read at most limit + 1 bytes and give it its length.
            body = request.read(limit + 1)
            if len(body) > limit:
                return error_json_response(
                    413, f"Request body is over the limit of {limit} bytes.", code="request_too_large")
            request._body = body
            request.META["CONTENT_LENGTH"] = str(len(body))
            return None
        if length > limit:
            return error_json_response(
                413, f"Request body is {length} bytes; the limit is {limit} bytes.", code="request_too_large"
            )
        return None


class ApiErrorMiddleware(_HookMiddleware):
    """Turn Django's HTML 404/500 under the API prefixes into the JSON envelope."""

    def before(self, request):
        # No id holds U+0000, and PostgreSQL cannot even compare one: answer before any lookup.
        if "\x00" in request.path and _is_api(request.path):
            return error_json_response(404, "No such object.", code="not_found")
        return None

    def after(self, request, response):
        if not _is_api(request.path):
            return response
        content_type = response.get("Content-Type", "")
        if response.status_code == 404 and not content_type.startswith("application/json"):
            return error_json_response(404, f"Unknown path {request.path}.", code="unknown_url")
        if response.status_code == 405 and not content_type.startswith("application/json"):
            return error_json_response(405, f"Method {request.method} is not allowed on {request.path}.", code="method_not_allowed")
        return response

    def process_exception(self, request, exception):
        if not _is_api(request.path):
            return None
        # The same mapping as DRF's exception handler, for what escapes other views.
        return error_json_response_for(exception, method=request.method)
