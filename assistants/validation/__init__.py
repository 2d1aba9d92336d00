"""Request validation of the assistants endpoints.

Pure functions: each takes the decoded JSON body and returns clean input for a service,
or raises ``InvalidRequest(message, param=<field path>)``. Unknown fields get 400 with
`param` naming the field (every request schema of the spec is ``additionalProperties: false``).
"""

from __future__ import annotations

from typing import Any

from assistants.validation import options as o
from assistants.validation import tools as t
from kernel.validation import fields as f

MAX_NAME = 256
MAX_DESCRIPTION = 512
MAX_ASSISTANT_TOOLS = 128

_ASSISTANT: dict[str, o.Check] = {
    "model": o.model,
    "name": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_NAME),
    "description": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_DESCRIPTION),
    "instructions": o.instructions,
    "reasoning_effort": t.reasoning_effort,
    "tools": lambda v, p: t.tools(v, p, max_items=MAX_ASSISTANT_TOOLS),
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
    "temperature": o.temperature,
    "top_p": o.top_p,
    "response_format": t.response_format,
}


def validate_assistant_create(body: Any) -> dict:
    """CreateAssistantRequest → keyword arguments of ``assistant_create`` (``model`` included)."""
    f.obj(body, "", allowed=_ASSISTANT, required=("model",))
    return o.clean(body, _ASSISTANT)


def validate_assistant_update(body: Any) -> dict:
    """ModifyAssistantRequest → only the fields given (an explicit null clears a nullable field)."""
    f.obj(body, "", allowed=_ASSISTANT)
    return o.clean(body, _ASSISTANT)
