"""Checks of the options an assistant and a run share (model, instructions, sampling)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel.validation import fields as f

MAX_MODEL = 256
MAX_INSTRUCTIONS = 256_000
MIN_TOKEN_LIMIT = 256

Check = Callable[[Any, str], Any]


def model(value: Any, path: str) -> str:
    return f.string(value, path, non_empty=True, max_length=MAX_MODEL)


def optional_model(value: Any, path: str) -> str | None:
    return None if value is None else model(value, path)


def instructions(value: Any, path: str) -> str | None:
    return f.string(value, path, nullable=True, max_length=MAX_INSTRUCTIONS)


def temperature(value: Any, path: str) -> float | None:
    return f.number(value, path, minimum=0, maximum=2)


def top_p(value: Any, path: str) -> float | None:
    return f.number(value, path, minimum=0, maximum=1)


def token_limit(value: Any, path: str) -> int | None:
    return f.integer(value, path, minimum=MIN_TOKEN_LIMIT)


def clean(body: dict, checks: dict[str, Check], path: str = "") -> dict:
    """Each given field of ``body`` through its check (the caller already refused unknown fields)."""
    return {key: checks[key](value, f.join(path, key)) for key, value in body.items() if key in checks}
