"""`GET /v1/openapi.json`: the Assistants v2 subset, the vector stores of the Files and
Vector Stores subset, and Entities' extensions, merged.

The documents live in docs/openapi/ (the subsets are verbatim copies of the reference);
they are parsed once per process, on first request.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from kernel.api.views import V1APIView

OPENAPI_DIR = Path(settings.BASE_DIR) / "docs" / "openapi"
SUBSET_FILE = "assistants-v2-openapi.yaml"
VECTOR_STORES_FILE = "files-vector-stores-openapi.yaml"
EXTENSIONS_FILE = "entities.yaml"
# Only these paths come from the Files and Vector Stores subset: Entities' own document
# describes /files (its listing differs from OpenAI's).
VECTOR_STORE_PATHS = "/vector_stores"


def _load(name: str) -> dict:
    import yaml  # loaded only when the document is asked for

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(OPENAPI_DIR / name, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


def _deep_merge(target: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def add_vector_stores(spec: dict, stores: dict) -> dict:
    """``spec`` with the ``/vector_stores`` paths of ``stores`` and every schema and shared
    response of ``stores`` that ``spec`` lacks (same-named ones are the same in both). Neither
    input is modified."""
    spec = copy.deepcopy(spec)
    for path, operations in stores.get("paths", {}).items():
        if path.startswith(VECTOR_STORE_PATHS):
            spec.setdefault("paths", {})[path] = copy.deepcopy(operations)
    components = spec.setdefault("components", {})
    for section in ("schemas", "responses"):
        target = components.setdefault(section, {})
        for name, value in stores.get("components", {}).get(section, {}).items():
            target.setdefault(name, copy.deepcopy(value))
    return spec


def merge(subset: dict, extensions: dict) -> dict:
    """The subset with the extensions' info, servers, paths (operations added to existing paths),
    schemas and schema patches applied. Neither input is modified."""
    spec = copy.deepcopy(subset)
    spec["info"] = {**spec.get("info", {}), **extensions.get("info", {})}
    if "servers" in extensions:
        spec["servers"] = copy.deepcopy(extensions["servers"])
    for path, operations in extensions.get("paths", {}).items():
        spec.setdefault("paths", {}).setdefault(path, {}).update(copy.deepcopy(operations))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in extensions.get("components", {}).get("schemas", {}).items():
        schemas[name] = copy.deepcopy(schema)
    for name, patch in extensions.get("x-entities-schema-patches", {}).items():
        _deep_merge(schemas[name], patch)
    return spec


@functools.lru_cache(maxsize=1)
def entities_openapi() -> dict:
    """The merged document (cached; treat it as read-only)."""
    return merge(add_vector_stores(_load(SUBSET_FILE), _load(VECTOR_STORES_FILE)), _load(EXTENSIONS_FILE))


class OpenApiView(V1APIView):
    """The document is public: it describes the API, not anyone's data."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    checks_beta_header = False

    def get(self, request):
        return Response(entities_openapi())
