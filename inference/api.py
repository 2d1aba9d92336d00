"""`GET /v1/models`: what the reachable backends offer."""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync
from rest_framework.response import Response

from inference.factory import list_all_models
from kernel.api.views import V1APIView
from kernel.errors import NotFound

MODELS_CACHE_SECONDS = 15.0
_models_cache: tuple[float, list[dict]] | None = None


def _models() -> list[dict]:
    """The backends' models, cached briefly: probing unreachable servers takes up to
    seconds, and sync views share one thread under ASGI, so every request would wait."""
    global _models_cache
    now = time.monotonic()
    if _models_cache is not None and now - _models_cache[0] < MODELS_CACHE_SECONDS:
        return _models_cache[1]
    models = async_to_sync(list_all_models)()
    _models_cache = (time.monotonic(), models)
    return models


class ModelListView(V1APIView):
    """`GET /v1/models`: what the reachable backends offer (unreachable ones add nothing)."""

    checks_beta_header = False

    def get(self, request):
        return Response({"object": "list", "data": _models()})


class ModelDetailView(V1APIView):
    """`GET /v1/models/{model}`; model ids contain a slash (`demo/echo`)."""

    checks_beta_header = False

    def get(self, request, model: str):
        for item in _models():
            if item["id"] == model:
                return Response(item)
        raise NotFound(f"The model '{model}' does not exist or no backend offering it answered.", param="model",
                       code="model_not_found")
