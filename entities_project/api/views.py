"""The base of every /v1 view, and the model listing.

`V1APIView` adds the OpenAI-Beta policy to DRF's defaults (authentication, throttles,
the error envelope from REST_FRAMEWORK settings).
"""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync
from rest_framework.response import Response
from rest_framework.views import APIView

from entities_project.errors import NotFound
from entities_project.validation import check_beta_header

# The SDK's poll helpers wait this long between GETs of a run when the server says so.
POLL_AFTER_MS = "100"


class V1APIView(APIView):
    """An Assistants-API endpoint: `OpenAI-Beta`, when sent, must name assistants=v2."""

    checks_beta_header = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.checks_beta_header:
            check_beta_header(request.headers.get("OpenAI-Beta"))


MODELS_CACHE_SECONDS = 15.0
_models_cache: tuple[float, list[dict]] | None = None


def _models() -> list[dict]:
    """The backends' models, cached briefly: probing unreachable servers takes up to
    seconds, and sync views share one thread under ASGI, so every request would wait."""
    global _models_cache
    now = time.monotonic()
    if _models_cache is not None and now - _models_cache[0] < MODELS_CACHE_SECONDS:
        return _models_cache[1]
    # Imported here: the inference package is heavy and optional for most views.
    from inference.factory import list_all_models

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
