"""The upload form of POST /v1/files: purpose and expires_after (pure shape checks)."""

from __future__ import annotations

import json
from typing import Any

from files.models import UPLOAD_PURPOSES
from kernel.errors import InvalidRequest

EXPIRES_MIN_SECONDS = 3600  # one hour
EXPIRES_MAX_SECONDS = 2_592_000  # thirty days


def upload_purpose(value: Any) -> str:
    if value in (None, ""):
        raise InvalidRequest("Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter")
    if value not in UPLOAD_PURPOSES:
        raise InvalidRequest(f"Invalid value for 'purpose': {str(value)[:64]!r}. Expected one of "
                             f"{', '.join(UPLOAD_PURPOSES)}.", param="purpose", code="invalid_value")
    return value


def expires_after(form) -> int | None:
    """Seconds from creation, or None. The SDK sends ``expires_after[anchor]`` and
    ``expires_after[seconds]`` as form fields; a JSON ``expires_after`` field is taken too."""
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    raw = form.get("expires_after")
    if raw not in (None, ""):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidRequest("Invalid 'expires_after': expected an object with 'anchor' and 'seconds'.",
                                 param="expires_after")
        anchor, seconds = parsed.get("anchor"), parsed.get("seconds")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise InvalidRequest("Invalid 'expires_after.anchor': expected 'created_at'.", param="expires_after.anchor")
    try:
        value = int(str(seconds))
    except ValueError:
        value = None
    if value is None or not EXPIRES_MIN_SECONDS <= value <= EXPIRES_MAX_SECONDS:
        raise InvalidRequest(f"Invalid 'expires_after.seconds': expected an integer from {EXPIRES_MIN_SECONDS} "
                             f"to {EXPIRES_MAX_SECONDS}.", param="expires_after.seconds")
    return value
