"""`GET /metrics`: the counters of kernel.metrics in Prometheus text format.

Who may scrape: with ENTITIES_METRICS_TOKEN set, whoever sends it (`?token=` or
`Authorization: Bearer`); without one, anyone when DEBUG is on, and only loopback
clients when it is off. A request that came through a proxy (it carries
X-Forwarded-For or Forwarded) is not a loopback client even when the proxy connects
from 127.0.0.1: behind a proxy, set the token.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import kernel.metrics  # noqa: F401  (the counters register on import)


def _is_loopback(request) -> bool:
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "").is_loopback
    except ValueError:
        return False


def _token_given(request, token: str) -> bool:
    given = request.GET.get("token") or ""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        given = header[len("Bearer "):]
    return hmac.compare_digest(given.encode(), token.encode())


def metrics_view(request):
    """Prometheus scrape endpoint (who may read it: the module docstring)."""
    token = getattr(settings, "ENTITIES_METRICS_TOKEN", "")
    if token:
        if not _token_given(request, token):
            return HttpResponseForbidden("metrics token required\n")
    elif not settings.DEBUG and not _is_loopback(request):
        return HttpResponseForbidden("metrics are served to loopback clients only; set ENTITIES_METRICS_TOKEN\n")
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
