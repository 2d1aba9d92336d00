"""Thread, message and run request bodies: one ``validate_*`` per operation, returning clean service input.

Unknown fields get 400 with `param` naming the field (every request schema of the spec is
``additionalProperties: false``); `stream` is accepted on the three run-creating bodies.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import InvalidRequest
from assistants.validation import options as o
from kernel.validation import fields as f
from conversations.validation import messages as m
from assistants.validation import tools as t

MAX_THREAD_TITLE = 200
MAX_RUN_TOOLS = 20
INCLUDE_VALUES = ("step_details.tool_calls[*].file_search.results[*].content",)


# Options shared by createRun and createThreadAndRun.
_RUN_COMMON: dict[str, o.Check] = {
    "model": o.optional_model,
    "instructions": o.instructions,
    "tools": lambda v, p: t.tools(v, p, max_items=MAX_RUN_TOOLS),
    "metadata": f.metadata,
    "temperature": o.temperature,
    "top_p": o.top_p,
    "max_prompt_tokens": o.token_limit,
    "max_completion_tokens": o.token_limit,
    "truncation_strategy": t.truncation_strategy,
    "tool_choice": t.tool_choice,
    "parallel_tool_calls": lambda v, p: f.boolean(v, p, nullable=True),
    "response_format": t.response_format,
}

_RUN: dict[str, o.Check] = {
    **_RUN_COMMON,
    "reasoning_effort": t.reasoning_effort,
    "additional_instructions": o.instructions,
    "additional_messages": m.messages,
}

_THREAD: dict[str, o.Check] = {
    "messages": m.messages,
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
}

_THREAD_UPDATE: dict[str, o.Check] = {
    "tool_resources": t.tool_resources,
    "metadata": f.metadata,
    # Entities extension: the title the chat UI shows.
    "title": lambda v, p: f.string(v, p, nullable=True, max_length=MAX_THREAD_TITLE),
}


def _without_nulls(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def _assistant_id(body: dict) -> str:
    return f.string(body["assistant_id"], "assistant_id", non_empty=True, max_length=64)


def validate_thread_create(body: Any, path: str = "") -> dict:
    """CreateThreadRequest (every field optional) → ``{"messages", "metadata", "tool_resources"}``."""
    if body is None:
        body = {}
    f.obj(body, path, allowed=_THREAD)
    cleaned = o.clean(body, _THREAD, path)
    return {"messages": cleaned.get("messages") or [], "metadata": cleaned.get("metadata"),
            "tool_resources": cleaned.get("tool_resources")}


def validate_thread_update(body: Any) -> dict:
    """ModifyThreadRequest (+ the `title` extension) → only the fields given."""
    f.obj(body, "", allowed=_THREAD_UPDATE)
    return o.clean(body, _THREAD_UPDATE)


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
    options = _without_nulls(o.clean(body, _RUN))
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
    options = _without_nulls(o.clean(body, _RUN_COMMON))
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
    """The `include[]` query values; only the file-search content value exists (run steps then show the results' chunk text)."""
    for value in values:
        if value not in INCLUDE_VALUES:
            raise InvalidRequest(f"Invalid 'include[]': '{value}' is not one of '{INCLUDE_VALUES[0]}'.",
                                 param="include[]", code="invalid_value")
    return list(values)

