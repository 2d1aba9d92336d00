"""The registry of server-side functions the run engine may call for the model.

A function is registered with ``@register_function(parameters={...})`` (a JSON schema of
an object; the description defaults to the docstring). The registry holds the seed's
built-in tools (``inference.tools``) plus every dotted path in ``settings.ENTITIES_FUNCTIONS``
— a module, whose import runs its decorators, or a registered callable / FunctionSpec —
loaded once, on first use.

``execute_function`` is the one way the engine calls a function: it never raises (apart
from ``CancelledError``), and its ``ToolOutcome.output`` is the JSON string the model sees.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

BUILTIN_MODULES = ["inference.tools.flights", "inference.tools.ripestat"]
_EMPTY_OBJECT_SCHEMA: dict = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    parameters: dict
    func: Callable[..., Any]
    timeout_s: float | None = None


@dataclass
class ToolOutcome:
    ok: bool
    output: str  # what the model sees: a JSON string for functions
    error: str | None = None


_registry: dict[str, FunctionSpec] = {}
_loaded = False
_load_lock = threading.Lock()


def register_function(
    func: Callable | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: dict | None = None,
    timeout: float | None = None,
):
    """Register ``func`` (decorator with or without arguments, or a plain call); returns ``func``.

    The spec is also attached as ``func.function_spec`` so a dotted path in
    ENTITIES_FUNCTIONS may name the function itself.
    """

    def register(target: Callable) -> Callable:
        schema = parameters if parameters is not None else dict(_EMPTY_OBJECT_SCHEMA)
        jsonschema.Draft202012Validator.check_schema(schema)
        spec = FunctionSpec(
            name=name or target.__name__,
            description=description if description is not None else inspect.cleandoc(target.__doc__ or ""),
            parameters=schema,
            func=target,
            timeout_s=timeout,
        )
        _registry[spec.name] = spec
        target.function_spec = spec  # type: ignore[attr-defined]
        return target

    return register(func) if func is not None else register


def add_functions(functions: dict[str, Callable[..., Any] | FunctionSpec]) -> None:
    """Register the seed's ``{name: callable}`` (``get_inference(type, available_functions)``).

    A plain callable gets no schema (its arguments are not checked); a FunctionSpec keeps its own.
    """
    _ensure_loaded()
    for name, target in functions.items():
        _registry[name] = target if isinstance(target, FunctionSpec) else FunctionSpec(
            name=name, description=inspect.cleandoc(getattr(target, "__doc__", None) or ""), parameters={},
            func=target)


def registered_functions() -> list[FunctionSpec]:
    """Every registered function: the built-ins, then ENTITIES_FUNCTIONS, in registration order."""
    _ensure_loaded()
    return list(_registry.values())


def get_function(name: str) -> FunctionSpec | None:
    _ensure_loaded()
    return _registry.get(name)


def function_tool_definition(spec: FunctionSpec) -> dict:
    """The spec as an OpenAI ``tools`` entry."""
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": spec.parameters},
    }


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        for module in BUILTIN_MODULES:
            _register_module(import_module(module))
        for path in settings.ENTITIES_FUNCTIONS:
            _load_path(path)
        _loaded = True


def _register_module(module: ModuleType) -> None:
    # Collecting the decorated members (not only trusting the import side effect) keeps
    # loading idempotent when the module was imported, or the registry reset, earlier.
    for member in vars(module).values():
        spec = getattr(member, "function_spec", None)
        if isinstance(spec, FunctionSpec):
            _registry[spec.name] = spec


def _load_path(path: str) -> None:
    try:
        _register_module(import_module(path))
        return
    except ModuleNotFoundError as exc:
        # Only "this path is not a module" falls through to the callable form; a module
        # that exists but fails to import its own dependencies must say so.
        if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
            raise ImproperlyConfigured(f"ENTITIES_FUNCTIONS entry {path!r} failed to import: {exc}") from exc
    except Exception as exc:
        raise ImproperlyConfigured(f"ENTITIES_FUNCTIONS entry {path!r} failed to import: {exc}") from exc
    try:
        target = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"ENTITIES_FUNCTIONS entry {path!r} is neither a module nor a callable: {exc}"
        ) from exc
    spec = target if isinstance(target, FunctionSpec) else getattr(target, "function_spec", None)
    if not isinstance(spec, FunctionSpec):
        raise ImproperlyConfigured(
            f"ENTITIES_FUNCTIONS entry {path!r} is not a registered function; "
            "decorate it with @register_function or point to its module"
        )
    _registry[spec.name] = spec


async def execute_function(
    name: str, arguments_json: str, *, available_functions: dict[str, Callable] | None = None
) -> ToolOutcome:
    """Call function ``name`` with the model's JSON arguments; never raises (but CancelledError).

    A plain callable in ``available_functions`` (the seed's dict) wins over the registry and
    gets no schema check.
    """
    spec = _lookup(name, available_functions)
    if spec is None:
        return _failure(f"function {name!r} is not registered on this server")
    try:
        arguments = json.loads(arguments_json) if (arguments_json or "").strip() else {}
    except ValueError as exc:
        return _failure(f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return _failure(f"arguments must be a JSON object, got {type(arguments).__name__}")
    if spec.parameters:
        problem = _schema_problem(spec.parameters, arguments)
        if problem:
            return _failure(f"invalid arguments for {name}: {problem}")
    timeout = spec.timeout_s or settings.ENTITIES_FUNCTION_TIMEOUT
    try:
        result = await asyncio.wait_for(_call(spec.func, arguments), timeout)
    except TimeoutError:
        return _failure(f"{name} did not finish within {timeout:g} s")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a tool's bug or bad luck is the model's information, not the run's crash
        return _failure(f"{type(exc).__name__}: {exc}")
    if isinstance(result, str):
        return ToolOutcome(ok=True, output=result)
    try:
        return ToolOutcome(ok=True, output=json.dumps(result, default=str))
    except (TypeError, ValueError) as exc:
        return _failure(f"{name} returned a value that is not JSON-serialisable: {exc}")


def _lookup(name: str, available_functions: dict[str, Callable] | None) -> FunctionSpec | None:
    if available_functions and name in available_functions:
        target = available_functions[name]
        spec = target if isinstance(target, FunctionSpec) else None
        return spec or FunctionSpec(name=name, description="", parameters={}, func=target)
    return get_function(name)


def _schema_problem(schema: dict, arguments: dict) -> str | None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(arguments))
    if error is None:
        return None
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required" or not field:
        return error.message
    return f"{field}: {error.message}"


async def _call(func: Callable, arguments: dict) -> Any:
    if inspect.iscoroutinefunction(func):
        return await func(**arguments)
    # A sync function runs in a worker thread; on timeout the thread is abandoned (Python
    # cannot kill it), so sync tools must bound their own I/O too.
    result = await asyncio.to_thread(func, **arguments)
    if inspect.isawaitable(result):
        result = await result
    return result


def _failure(message: str) -> ToolOutcome:
    return ToolOutcome(ok=False, output=json.dumps({"error": message}), error=message)
