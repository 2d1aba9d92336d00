"""Which backend a model name goes to: `<type>/<name>`, or the default type for the rest."""

from __future__ import annotations

from django.conf import settings

KNOWN_TYPES = ("local", "cloud", "demo")


def resolve_model(model: str) -> tuple[str, str]:
    """Split `model` into (inference type, the backend's own model name).

    "local/llama3.1" → ("local", "llama3.1"). A bare name, or one whose prefix is not a
    known type ("meta-llama/Llama-3-8B" is a Hugging Face id), goes whole to
    ENTITIES_DEFAULT_INFERENCE. Raises ValueError for an empty name.
    """
    model = (model or "").strip()
    if not model:
        raise ValueError("a model name is required, e.g. local/llama3.1, cloud/gpt-4o-mini or demo/echo")
    prefix, slash, name = model.partition("/")
    if slash and prefix in KNOWN_TYPES:
        if not name:
            raise ValueError(f"{model!r} names no model after {prefix}/")
        return prefix, name
    return settings.ENTITIES_DEFAULT_INFERENCE, model
