"""Attribute filters, as OpenAI's: comparison {type, key, value} and compound {type: and|or, filters}.

``validate_filter`` checks a request's filter (raising InvalidRequest with the path of the
bad part); ``matches`` evaluates one against a file's attributes. A comparison on a key the
file lacks is false (``ne`` included: OpenAI matched only files that have the key).
"""

from __future__ import annotations

from typing import Any

from kernel.errors import InvalidRequest

COMPARISONS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}
COMPOUNDS = {"and", "or"}
MAX_DEPTH = 8


def validate_filter(value: Any, path: str = "filters", depth: int = 0) -> dict:
    """The filter, checked; raises ``InvalidRequest`` naming the offending ``path``."""
    if not isinstance(value, dict):
        raise InvalidRequest(f"Invalid '{path}': expected an object.", param=path)
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"Invalid '{path}': filters nest at most {MAX_DEPTH} deep.", param=path)
    kind = value.get("type")
    if kind in COMPOUNDS:
        filters = value.get("filters")
        if not isinstance(filters, list) or not filters:
            raise InvalidRequest(f"Invalid '{path}.filters': expected a non-empty array.", param=f"{path}.filters")
        return {"type": kind, "filters": [validate_filter(f, f"{path}.filters[{i}]", depth + 1)
                                          for i, f in enumerate(filters)]}
    if kind in COMPARISONS:
        key = value.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidRequest(f"Invalid '{path}.key': expected a string.", param=f"{path}.key")
        operand = value.get("value")
        if kind in ("in", "nin"):
            if not isinstance(operand, list) or not all(_scalar(v) for v in operand):
                raise InvalidRequest(f"Invalid '{path}.value': expected an array of strings or numbers.",
                                     param=f"{path}.value")
        elif not _scalar(operand):
            raise InvalidRequest(f"Invalid '{path}.value': expected a string, number or boolean.",
                                 param=f"{path}.value")
        return {"type": kind, "key": key, "value": operand}
    raise InvalidRequest(
        f"Invalid '{path}.type': expected one of {', '.join(sorted(COMPARISONS | COMPOUNDS))} (got {kind!r}).",
        param=f"{path}.type")


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value is not None


def _compare(kind: str, have: Any, want: Any) -> bool:
    if kind in ("in", "nin"):
        inside = any(_equal(have, w) for w in want)
        return inside if kind == "in" else not inside
    if kind == "eq":
        return _equal(have, want)
    if kind == "ne":
        return not _equal(have, want)
    # Order comparisons only between numbers, or between strings; never across kinds.
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (have, want))
    strings = isinstance(have, str) and isinstance(want, str)
    if not (numbers or strings):
        return False
    return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[kind]


def _equal(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    return have == want


def matches(flt: dict | None, attributes: dict | None) -> bool:
    """Whether a file with ``attributes`` passes the (validated) filter ``flt``."""
    if flt is None:
        return True
    attributes = attributes or {}
    kind = flt["type"]
    if kind == "and":
        return all(matches(f, attributes) for f in flt["filters"])
    if kind == "or":
        return any(matches(f, attributes) for f in flt["filters"])
    if flt["key"] not in attributes:
        return False
    return _compare(kind, attributes[flt["key"]], flt["value"])
