"""Whole request bodies: one ``validate_*`` per operation, returning clean service input.

Unknown fields get 400 with `param` naming the field (every request schema of the spec is
``additionalProperties: false``); `stream` is accepted on the three run-creating bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from entities_project.errors import InvalidRequest
from entities_project.validation import fields as f
from entities_project.validation import messages as m
from entities_project.validation import tools as t

MAX_NAME = 256
MAX_DESCRIPTION = 512
MAX_INSTRUCTIONS = 256_000
MAX_MODEL = 256
MAX_THREAD_TITLE = 200
MAX_ASSISTANT_TOOLS = 128
MAX_RUN_TOOLS = 20
MIN_TOKEN_LIMIT = 256
INCLUDE_VALUES = ("step_details.tool_calls[*].file_search.results[*].content",)

Check = Callable[[Any, str], Any]


def _model(value: Any, path: str) -> str:
    return f.string(value, path, non_empty=True, max_length=MAX_MODEL)


def _optional_model(value: Any, path: str) -> str | None:
    return None if value is None else _model(value, path)


def _instructions(value: Any, path: str) -> str | None:
    return f.string(value, path, nullable=True, max_length=MAX_INSTRUCTIONS)


def _temperature(value: Any, path: str) -> float | None:
    return f.number(value, path, minimum=0, maximum=2)


def _top_p(value: Any, path: str) -> float | None:
    return f.number(value, path, minimum=0, maximum=1)


def _token_limit(value: Any, path: str) -> int | None:
    return f.integer(value, path, minimum=MIN_TOKEN_LIMIT)


_ASSISTANT: dict[str, Check] = {
    "model": _model,
    "name": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_NAME),
    "description": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_DESCRIPTION),
    "instructions": _instructions,
    "reasoning_effort": t.reasoning_effort,
    "tools": lambda v, p: t.tools(v, p, max_items=MAX_ASSISTANT_TOOLS),
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
    "temperature": _temperature,
    "top_p": _top_p,
    "response_format": t.response_format,
}

# Options shared by createRun and createThreadAndRun.
_RUN_COMMON: dict[str, Check] = {
    "model": _optional_model,
    "instructions": _instructions,
    "tools": lambda v, p: t.tools(v, p, max_items=MAX_RUN_TOOLS),
    "metadata": f.metadata,
    "temperature": _temperature,
    "top_p": _top_p,
    "max_prompt_tokens": _token_limit,
    "max_completion_tokens": _token_limit,
    "truncation_strategy": t.truncation_strategy,
    "tool_choice": t.tool_choice,
    "parallel_tool_calls": lambda v, p: f.boolean(v, p, nullable=True),
    "response_format": t.response_format,
}

_RUN: dict[str, Check] = {
    **_RUN_COMMON,
    "reasoning_effort": t.reasoning_effort,
    "additional_instructions": _instructions,
    "additional_messages": m.messages,
}

_THREAD: dict[str, Check] = {
    "messages": m.messages,
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
}

_THREAD_UPDATE: dict[str, Check] = {
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
    # Entities extension: the title the chat UI shows.
    "title": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_THREAD_TITLE),
}


def _clean(body: dict, checks: dict[str, Check], path: str = "") -> dict:
    return {key: checks[key](value, f.join(path, key)) for key, value in body.items() if key in checks}


def _without_nulls(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def _assistant_id(body: dict) -> str:
    return f.string(body["assistant_id"], "assistant_id", non_empty=True, max_length=64)


def validate_assistant_create(body: Any) -> dict:
    """CreateAssistantRequest → keyword arguments of ``assistant_create`` (``model`` included)."""
    f.obj(body, "", allowed=_ASSISTANT, required=("model",))
    return _clean(body, _ASSISTANT)


def validate_assistant_update(body: Any) -> dict:
    """ModifyAssistantRequest → only the fields given (an explicit null clears a nullable field)."""
    f.obj(body, "", allowed=_ASSISTANT)
    return _clean(body, _ASSISTANT)


def validate_thread_create(body: Any, path: str = "") -> dict:
    """CreateThreadRequest (every field optional) → ``{"messages", "metadata", "tool_resources"}``."""
    if body is None:
        body = {}
    f.obj(body, path, allowed=_THREAD)
    cleaned = _clean(body, _THREAD, path)
    return {"messages": cleaned.get("messages") or [], "metadata": cleaned.get("metadata"),
            "tool_resources": cleaned.get("tool_resources")}


def validate_thread_update(body: Any) -> dict:
    """ModifyThreadRequest (+ the `title` extension) → only the fields given."""
    f.obj(body, "", allowed=_THREAD_UPDATE)
    return _clean(body, _THREAD_UPDATE)


def validate_message_create(body: Any, path: str = "") -> dict:
    """CreateMessageRequest → ``{"role", "content" (stored shape), "attachments", "metadata"}``."""
    return m.message_create(body, path)


def validate_metadata_only(body: Any) -> dict:
    """ModifyMessageRequest / ModifyRunRequest → ``{"metadata": …}``, or ``{}`` when not given."""
    f.obj(body, "", allowed=("metadata",))
    return {"metadata": f.metadata(body["metadata"])} if "metadata" in body else {}


def validate_run_create(body: Any) -> tuple[str, dict, bool]:
    """CreateRunRequest → ``(assistant_id, options for run_create, stream)``; null options are dropped
    so the assistant's values apply."""
    f.obj(body, "", allowed=(*_RUN, "assistant_id", "stream"), required=("assistant_id",))
    options = _without_nulls(_clean(body, _RUN))
    if not options.get("additional_messages"):
        options.pop("additional_messages", None)
    return _assistant_id(body), options, f.stream_flag(body.get("stream"))


def validate_thread_and_run(body: Any) -> tuple[str, dict, dict, bool]:
    """CreateThreadAndRunRequest → ``(assistant_id, thread_data, options, stream)``.

    The top-level `tool_resources` are the new thread's unless `thread.tool_resources` is given.
    """
    f.obj(body, "", allowed=(*_RUN_COMMON, "assistant_id", "thread", "tool_resources", "stream"),
          required=("assistant_id",))
    thread_data = validate_thread_create(body.get("thread"), "thread")
    resources = t.tool_resources(body.get("tool_resources"))
    if thread_data["tool_resources"] is None and resources is not None:
        thread_data["tool_resources"] = resources
    options = _without_nulls(_clean(body, _RUN_COMMON))
    return _assistant_id(body), thread_data, options, f.stream_flag(body.get("stream"))


def validate_submit_tool_outputs(body: Any) -> tuple[list[dict], bool]:
    """SubmitToolOutputsRunRequest → ``([{"tool_call_id", "output"}], stream)``."""
    f.obj(body, "", allowed=("tool_outputs", "stream"), required=("tool_outputs",))
    items = f.array(body["tool_outputs"], "tool_outputs")
    outputs = []
    for i, item in enumerate(items):
        path = f.join("tool_outputs", i)
        f.obj(item, path, allowed=("tool_call_id", "output"), required=("tool_call_id",))
        outputs.append({
            "tool_call_id": f.string(item["tool_call_id"], f.join(path, "tool_call_id"), non_empty=True),
            "output": f.string(item.get("output"), f.join(path, "output"), nullable=True) or "",
        })
    return outputs, f.stream_flag(body.get("stream"))


def validate_include(values: list[str]) -> list[str]:
    """The `include[]` query values; only the file-search content value exists (and is a no-op here)."""
    for value in values:
        if value not in INCLUDE_VALUES:
            raise InvalidRequest(f"Invalid 'include[]': '{value}' is not one of '{INCLUDE_VALUES[0]}'.",
                                 param="include[]", code="invalid_value")
    return list(values)


def check_beta_header(value: str | None) -> None:
    """`OpenAI-Beta` may be absent; when present it must contain `assistants=v2` (as OpenAI required)."""
    if value is None:
        return
    if "assistants=v2" not in {part.strip() for part in value.split(",")}:
        raise InvalidRequest(
            "Entities implements the v2 Assistants API. Set the header 'OpenAI-Beta: assistants=v2' "
            f"(got {value!r}), or leave it out.", code="invalid_beta",
        )
