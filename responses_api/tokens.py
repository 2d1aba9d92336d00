"""`POST /v1/responses/input_tokens`: how many tokens the input would be.

No backend reports a tokenizer, so this is the engine's own estimate (4 characters a
token, as prompt truncation uses), over the same text the model would be sent.
"""

from __future__ import annotations

import json

from conversations.engine.context import CHARS_PER_TOKEN
from conversations.services.content import content_text
from responses_api import validation


def input_tokens_count(*, body) -> int:
    """Estimate the input tokens of a create-response body (its tools and instructions included;
    the history of ``conversation`` / ``previous_response_id`` is not counted)."""
    spec = validation.response_create(body)
    chars = len(spec["options"].get("instructions") or "")
    chars += sum(len(content_text(m["content"])) for m in spec["input"]["messages"])
    chars += sum(len(o["output"]) for o in spec["input"]["outputs"])
    if spec["options"].get("tools"):
        chars += len(json.dumps(spec["options"]["tools"]))
    return max(1, -(-chars // CHARS_PER_TOKEN)) if chars else 0
