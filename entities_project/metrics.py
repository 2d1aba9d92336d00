"""`GET /metrics`: the counters of kernel.metrics in Prometheus text format."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import kernel.metrics  # noqa: F401  (the counters register on import)


def metrics_view(request):
    """Prometheus scrape endpoint; set ENTITIES_METRICS_TOKEN to require `?token=`."""
    token = getattr(settings, "ENTITIES_METRICS_TOKEN", "")
    if token and request.GET.get("token") != token and request.headers.get("Authorization") != f"Bearer {token}":
        return HttpResponseForbidden("metrics token required\n")
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
