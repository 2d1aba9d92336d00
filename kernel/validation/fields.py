"""Primitive checks shared by every request body: objects, strings, numbers, metadata.

Each function takes the value and its ``path`` (the `param` reported on error, e.g.
``thread.messages[0].content``) and raises InvalidRequest in the Assistants wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kernel.errors import InvalidRequest

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
# Every integer the API takes (token limits, message counts) is stored in a 32-bit column.
INTEGER_MAX = 2**31 - 1
# PostgreSQL's text and jsonb cannot hold U+0000; refused everywhere, so SQLite behaves the same.
NUL_MESSAGE = "strings cannot contain NUL (U+0000) characters."


def join(path: str, key: str | int) -> str:
    """``join("tools", 0) == "tools[0]"``, ``join("tools[0]", "type") == "tools[0].type"``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def invalid_type(path: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{path}': expected {expected}, but got {type_name(value)} instead.",
        param=path, code="invalid_type",
    )


def invalid_value(path: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid '{path}': {message}", param=path, code="invalid_value")


def obj(value: Any, path: str, *, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
    """``value`` must be a JSON object with only ``allowed`` keys and every ``required`` key."""
    if not isinstance(value, dict):
        if not path:
            raise InvalidRequest("The request body must be a JSON object.", code="invalid_type")
        raise invalid_type(path, "an object", value)
    allowed = set(allowed)
    for key in value:
        if key not in allowed:
            name = join(path, key)
            raise InvalidRequest(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    for key in required:
        if key not in value or value[key] is None:
            name = join(path, key)
            raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    return value


def string(value: Any, path: str, *, max_length: int | None = None, nullable: bool = False,
           non_empty: bool = False, choices: Iterable[str] | None = None) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise invalid_type(path, "a string", value)
    if "\x00" in value:
        raise invalid_value(path, NUL_MESSAGE)
    if non_empty and not value:
        raise invalid_value(path, "empty string. Expected a string with minimum length 1.")
    if max_length is not None and len(value) > max_length:
        raise InvalidRequest(
            f"Invalid '{path}': string too long. Expected a string with maximum length {max_length}, "
            f"but got a string with length {len(value)} instead.", param=path, code="string_above_max_length",
        )
    if choices is not None and value not in choices:
        options = ", ".join(f"'{c}'" for c in choices)
        raise invalid_value(path, f"'{value}' is not one of {options}.")
    return value


def name_string(value: Any, path: str) -> str:
    """A function or schema name: a-z, A-Z, 0-9, '_' and '-', at most 64 characters."""
    string(value, path)
    if not NAME_PATTERN.match(value):
        raise invalid_value(path, f"'{value}' does not match '^[a-zA-Z0-9_-]{{1,64}}$'.")
    return value


def number(value: Any, path: str, *, minimum: float, maximum: float, nullable: bool = True) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_type(path, "a number", value)
    if not minimum <= value <= maximum:
        raise invalid_value(path, f"{value} is not between {minimum:g} and {maximum:g}.")
    return float(value)


def integer(value: Any, path: str, *, minimum: int, maximum: int = INTEGER_MAX, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(path, "an integer", value)
    if value < minimum:
        raise invalid_value(path, f"integer below minimum value. Expected a value >= {minimum}, but got {value} instead.")
    if value > maximum:
        raise invalid_value(path, f"integer above maximum value. Expected a value <= {maximum}, but got {value} instead.")
    return value


def boolean(value: Any, path: str, *, nullable: bool = False) -> bool | None:
    if value is None and nullable:
        return None
    if not isinstance(value, bool):
        raise invalid_type(path, "a boolean", value)
    return value


def array(value: Any, path: str, *, max_items: int | None = None, min_items: int = 0,
          nullable: bool = False) -> list | None:
    if value is None and nullable:
        return None
    if not isinstance(value, list):
        raise invalid_type(path, "an array", value)
    if len(value) < min_items:
        raise invalid_value(path, f"empty array. Expected an array with minimum length {min_items}, "
                                  "but got an empty array instead.")
    if max_items is not None and len(value) > max_items:
        raise InvalidRequest(
            f"Invalid '{path}': array too long. Expected an array with maximum length {max_items}, "
            f"but got an array with length {len(value)} instead.", param=path, code="array_above_max_length",
        )
    return value


def metadata(value: Any, path: str = "metadata") -> dict | None:
    """Object or null; at most 16 pairs, keys ≤64 characters, values strings ≤512 characters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_type(path, "an object", value)
    if len(value) > METADATA_MAX_PAIRS:
        raise invalid_value(path, f"too many properties. Expected an object with at most {METADATA_MAX_PAIRS} "
                                  f"properties, but got an object with {len(value)} properties instead.")
    for key, item in value.items():
        if "\x00" in key:
            raise invalid_value(path, NUL_MESSAGE)
        if len(key) > METADATA_KEY_MAX:
            raise invalid_value(path, f"key too long. Expected keys with maximum length {METADATA_KEY_MAX}, "
                                      f"but got a key with length {len(key)} instead.")
        string(item, join(path, key), max_length=METADATA_VALUE_MAX)
    return dict(value)


def stream_flag(value: Any, path: str = "stream") -> bool:
    """`stream`: true, false or null (the SDK's poll helpers send false explicitly)."""
    return bool(boolean(value, path, nullable=True))


# --- JSON text as it arrives (REST bodies, WebSocket frames) ------------------------------
# No request needs more: tool parameter schemas, the deepest thing a client sends, stay far below.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_MESSAGE = ("strings cannot contain a lone surrogate (a \\ud800-\\udfff escape without its pair): "
                     "that is not Unicode text and cannot be stored.")


def _surrogate_error(path: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid '{path or 'body'}': {SURROGATE_MESSAGE}", param=path or None, code="invalid_unicode")


def json_checked(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` (parsed JSON) when it nests at most ``max_depth`` levels and every string and
    key is Unicode text; else InvalidRequest (``invalid_json`` / ``invalid_unicode``).

    Iterative, so a deep value costs no stack; one pass over everything the client sent.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _surrogate_error(path)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            raise InvalidRequest(f"The JSON body is nested more than {max_depth} levels deep.", code="invalid_json")
        if isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise _surrogate_error(path)
                stack.append((child, join(path, key), depth + 1))
        else:
            stack.extend((child, join(path, i), depth + 1) for i, child in enumerate(item))
    return value


def json_loads(text: str | bytes) -> Any:
    """Parse JSON text from a client: InvalidRequest ``invalid_json`` for anything that is not
    JSON (including nesting deep enough to exhaust the parser), then :func:`json_checked`."""
    import json

    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
                             code="invalid_json") from None
    except ValueError as exc:
        raise InvalidRequest(f"Could not parse the JSON body: {exc}", code="invalid_json") from None
    return json_checked(value)


def without_surrogates(value: Any) -> Any:
    """A copy of ``value`` with each lone surrogate replaced by U+FFFD, for output only: rows an
    older version stored must still render as UTF-8 (input never gets this far)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_surrogates(v) for v in value]
    return value
