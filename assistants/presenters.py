"""The public Assistants-API shape of an assistant (one output shape per object)."""

from __future__ import annotations

from assistants.models import Assistant
from kernel.timestamps import unix


def assistant_object(assistant: Assistant) -> dict:
    return {
        "id": assistant.id,
        "object": "assistant",
        "created_at": unix(assistant.created_at),
        "name": assistant.name,
        "description": assistant.description,
        "model": assistant.model,
        "instructions": assistant.instructions,
        "tools": assistant.tools or [],
        "tool_resources": assistant.tool_resources or {},
        "metadata": assistant.metadata or {},
        "temperature": assistant.temperature if assistant.temperature is not None else 1.0,
        "top_p": assistant.top_p if assistant.top_p is not None else 1.0,
        "response_format": assistant.response_format if assistant.response_format is not None else "auto",
        "reasoning_effort": assistant.reasoning_effort,
    }
