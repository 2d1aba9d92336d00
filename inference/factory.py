"""One cached backend per inference type, and the questions asked of all of them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

from inference.backends.base import InferenceBackend
from inference.backends.clients import LIST_MODELS_TIMEOUT
from inference.registry import add_functions
from inference.routing import KNOWN_TYPES, resolve_model

# Each backend already bounds its own listing; this guards against one that does not.
LIST_ALL_TIMEOUT = LIST_MODELS_TIMEOUT + 1.0


def _build(inference_type: str) -> InferenceBackend:
    # Imported here so that importing the factory does not import the openai SDK.
    if inference_type == "local":
        if settings.LOCAL_OPENAI_BASE_URL:
            from inference.backends.openai_compat import LocalOpenAICompatBackend

            return LocalOpenAICompatBackend()
        from inference.backends.ollama import OllamaBackend

        return OllamaBackend()
    if inference_type == "cloud":
        from inference.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend()
    from inference.backends.demo import DemoBackend

    return DemoBackend()


class InferenceFactory:
    """The seed's entry point: `InferenceFactory.get_inference("local")`."""

    _instances: dict[str, InferenceBackend] = {}
    _lock = threading.Lock()

    @staticmethod
    def get_inference(inference_type: str, available_functions: dict[str, Callable[..., Any]] | None = None) -> InferenceBackend:
        """The cached backend for `inference_type`.

        `available_functions` (the seed's ``{name: callable}``) are registered as server-side
        functions in ``inference.registry``, the one function registry; the shared backend is
        not changed. Raises ValueError for a type not in KNOWN_TYPES.
        """
        if inference_type not in KNOWN_TYPES:
            raise ValueError(f"unknown inference type {inference_type!r}; known types are {', '.join(KNOWN_TYPES)}")
        with InferenceFactory._lock:
            backend = InferenceFactory._instances.get(inference_type)
            if backend is None:
                backend = InferenceFactory._instances[inference_type] = _build(inference_type)
        if available_functions:
            add_functions(available_functions)
        return backend

    @staticmethod
    def reset() -> None:
        """Forget the cached backends, so the next call reads settings afresh (tests, reloads)."""
        with InferenceFactory._lock:
            InferenceFactory._instances.clear()


def backend_for_model(model: str) -> tuple[InferenceBackend, str]:
    """The backend for `model` and the name to send it; ValueError for an empty name."""
    inference_type, name = resolve_model(model)
    return InferenceFactory.get_inference(inference_type), name


async def list_all_models() -> list[dict]:
    """Every reachable backend's models, asked concurrently; unreachable ones add nothing."""
    listings = await asyncio.gather(*(_bounded_list(t) for t in KNOWN_TYPES))
    return [model for listing in listings for model in listing]


async def backends_status() -> dict:
    """{type: {"ok", "models", "error", **describe()}} for every known type, asked concurrently."""
    backends = [InferenceFactory.get_inference(t) for t in KNOWN_TYPES]
    probes = await asyncio.gather(*(_bounded_probe(b) for b in backends))
    return {t: {**probe, **b.describe()} for t, b, probe in zip(KNOWN_TYPES, backends, probes)}


async def _bounded_list(inference_type: str) -> list[dict]:
    try:
        return await asyncio.wait_for(InferenceFactory.get_inference(inference_type).list_models(), LIST_ALL_TIMEOUT)
    except asyncio.TimeoutError:
        return []


async def _bounded_probe(backend: InferenceBackend) -> dict:
    try:
        return await asyncio.wait_for(backend.probe(), LIST_ALL_TIMEOUT)
    except asyncio.TimeoutError:
        return {"ok": False, "models": 0, "error": f"the {backend.inference_type} backend did not answer within {LIST_ALL_TIMEOUT:g} s"}
