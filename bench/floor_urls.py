"""Entities' URLs and the Django floor of S4: the cheapest views Django serves through the
same server, settings and middleware as Entities' own (``bench.floor_settings``)."""

from django.http import JsonResponse
from django.urls import path

from entities_project.urls import urlpatterns as entities_urlpatterns

FLOOR_BODY = {"object": "floor", "ok": True}


def floor(request):
    """A sync view: the request thread, the middleware, a small JSON body."""
    return JsonResponse(FLOOR_BODY)


async def floor_async(request):
    """The same as an async view: no request thread."""
    return JsonResponse(FLOOR_BODY)


urlpatterns = [*entities_urlpatterns, path("__bench__/floor", floor), path("__bench__/floor-async", floor_async)]
