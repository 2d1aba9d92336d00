"""The typed protocol between inference backends and the run engine.

A backend's `stream()` yields these events and ends with exactly one `Finish` or
`StreamError`. They are plain frozen values so the engine can match on type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

FINISH_REASONS = ("stop", "tool_calls", "length", "content_filter")


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of assistant text, to be appended to what came before."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning ("thinking") text, shown apart from the reply.

    Backends send it when the server separates it (``reasoning_content`` / ``reasoning``
    deltas, Ollama's ``thinking``); it usually comes before the turn's text or tool calls.
    """

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of the tool call at `index`.

    `arguments` is a fragment of the JSON arguments string: concatenate the fragments of
    one index to get the whole. `id` and `name` usually arrive only on the first fragment.
    """

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for the whole reply, reported once (usually just before Finish)."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0  # of completion_tokens, when the server says (completion_tokens_details)


@dataclass(frozen=True, slots=True)
class Finish:
    """The reply ended normally; `reason` is one of FINISH_REASONS."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamError:
    """The reply could not be completed; `message` tells an operator what to do."""

    message: str
    code: str = "server_error"


InferenceEvent = Union[TextDelta, ReasoningDelta, ToolCallDelta, Usage, Finish, StreamError]


@dataclass
class ChatRequest:
    """One chat-completions style request, already routed to a backend.

    `model` is the backend's own name (the `local/` or `cloud/` prefix is stripped).
    `messages` and `tools` use the OpenAI chat-completions shapes.
    """

    model: str
    messages: list[dict]
    tools: list[dict] = field(default_factory=list)
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    response_format: dict | None = None
