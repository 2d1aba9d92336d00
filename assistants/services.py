"""Writes of assistants. Input is already validated (see assistants.validation)."""

from __future__ import annotations

from django.db import transaction

from assistants.models import Assistant
from files.references import check_references, tool_resource_refs

ASSISTANT_FIELDS = (
    "model", "name", "description", "instructions", "tools", "tool_resources", "metadata",
    "temperature", "top_p", "response_format", "reasoning_effort",
)


def assistant_create(*, user, model: str, **fields) -> Assistant:
    """Create an assistant owned by ``user``."""
    unknown = set(fields) - set(ASSISTANT_FIELDS)
    if unknown:
        raise TypeError(f"unknown assistant fields: {sorted(unknown)}")
    values = {k: v for k, v in fields.items() if v is not None}
    check_references(owner_id=user.pk, refs=tool_resource_refs(values.get("tool_resources")))
    return Assistant.objects.create(owner=user, model=model, **values)


def assistant_update(*, assistant: Assistant, **fields) -> Assistant:
    """Change the given fields only (an explicit None clears a nullable field)."""
    check_references(owner_id=assistant.owner_id, refs=tool_resource_refs(fields.get("tool_resources")))
    for name, value in fields.items():
        if name not in ASSISTANT_FIELDS:
            raise TypeError(f"unknown assistant field: {name}")
        if name in ("tools", "tool_resources", "metadata") and value is None:
            value = [] if name == "tools" else {}
        if name == "response_format" and value is None:
            value = "auto"
        setattr(assistant, name, value)
    if fields:
        assistant.save(update_fields=list(fields))
    return assistant


@transaction.atomic
def assistant_delete(*, assistant: Assistant) -> None:
    """Delete the assistant; its past runs and messages keep its id, as on OpenAI."""
    assistant.delete()
