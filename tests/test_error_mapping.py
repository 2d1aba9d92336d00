"""One mapping from exceptions to the error envelope (kernel/api/errors.py::error_for).

DRF's exception handler (API views) and the middleware's process_exception (whatever
escapes other views under /v1 and /api) answer every exception the same way.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError, OperationalError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions as drf

from kernel.api.errors import api_exception_handler
from kernel.errors import InvalidRequest, NotFound
from kernel.middleware import ApiErrorMiddleware

EXCEPTIONS = [
    NotFound("No thread found with id 'thread_x'."),
    InvalidRequest("'limit' must be an integer.", param="limit"),
    drf.ValidationError({"limit": ["A valid integer is required."]}),
    drf.Throttled(wait=3),
    drf.NotAuthenticated(),
    Http404(),
    PermissionDenied(),
    drf.MethodNotAllowed("PATCH"),
    RequestDataTooBig(),
    DataError("value out of range"),
    OperationalError("server closed the connection"),
    RuntimeError("a bug"),
]


def via_drf(exc, request) -> tuple[int, dict, dict]:
    response = api_exception_handler(exc, {"request": request})
    return response.status_code, response.data, {k: v for k, v in response.items() if k != "Content-Type"}


def via_middleware(exc, request) -> tuple[int, dict, dict]:
    response = ApiErrorMiddleware(lambda r: None).process_exception(request, exc)
    return (response.status_code, json.loads(response.content),
            {k: v for k, v in response.items() if k not in ("Content-Type", "Content-Length")})


@pytest.mark.parametrize("exc", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_it_answers_every_exception_alike_in_views_and_middleware(exc):
    request = RequestFactory().patch("/v1/threads/thread_x")

    status, body, headers = via_drf(exc, request)

    assert (status, body, headers) == via_middleware(exc, request)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert status in (400, 401, 404, 405, 413, 429, 500, 503)


def test_it_leaves_errors_outside_the_api_to_django():
    request = RequestFactory().get("/chat/")

    assert ApiErrorMiddleware(lambda r: None).process_exception(request, RuntimeError("a bug")) is None


def test_it_maps_a_404_escaping_a_plain_view_to_not_found_not_a_server_error():
    status, body, _ = via_middleware(Http404(), RequestFactory().get("/v1/anything"))

    assert (status, body["error"]["code"]) == (404, "not_found")
