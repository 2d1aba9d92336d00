"""Which backend a model name goes to: `<type>/<name>`, or the default type for the rest."""

from __future__ import annotations

from fnmatch import fnmatchcase

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
    routed = route_for(model)
    if routed is not None:
        return routed
    return settings.ENTITIES_DEFAULT_INFERENCE, model


def parse_model_routes(value: str) -> list[tuple[str, str]]:
    """`ENTITIES_MODEL_ROUTES`: comma-separated `pattern=target` pairs, in order.

    A pattern is a shell-style glob over the whole model name (`gpt-*`, `o[134]*`); a target is a
    type (`cloud`: keep the name, send it there) or `type/name` (`demo/echo`, `local/llama3.1`:
    use that model instead). Raises ValueError naming the bad pair.
    """
    routes = []
    for pair in filter(None, (p.strip() for p in (value or "").split(","))):
        pattern, equals, target = (part.strip() for part in pair.partition("="))
        kind = target.partition("/")[0]
        if not equals or not pattern or kind not in KNOWN_TYPES or target.endswith("/"):
            raise ValueError(
                f"ENTITIES_MODEL_ROUTES: {pair!r} is not pattern=target with a target of "
                f"{', '.join(KNOWN_TYPES)} or <type>/<model>, e.g. gpt-*=cloud or gpt-4o=local/llama3.1")
        routes.append((pattern, target))
    return routes


def route_for(model: str) -> tuple[str, str] | None:
    """The (type, name) the first matching `ENTITIES_MODEL_ROUTES` pattern gives ``model``, or None."""
    for pattern, target in settings.ENTITIES_MODEL_ROUTES:
        if fnmatchcase(model, pattern):
            kind, _, name = target.partition("/")
            return kind, name or model
    return None
