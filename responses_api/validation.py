"""Request bodies of /v1/responses and /v1/conversations, checked and normalised.

Messages come out in the stored shape (``conversations.services.content``); tools, tool
choice and text format in the run's (Assistants) shape, so the engine needs nothing new.
"""

from __future__ import annotations

from typing import Any

from conversations.services.content import content_from_text, text_part
from kernel.errors import InvalidRequest
from kernel.validation import fields as f

CREATE_FIELDS = (
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens",
    "max_tool_calls", "temperature", "top_p", "text", "reasoning", "truncation", "metadata", "store", "background",
    "stream", "stream_options", "previous_response_id", "conversation", "include", "user", "safety_identifier",
    "prompt_cache_key", "service_tier", "top_logprobs", "prompt_cache_retention",
)
INCLUDABLE = (
    "code_interpreter_call.outputs", "computer_call_output.output.image_url", "file_search_call.results",
    "message.input_image.image_url", "message.output_text.logprobs", "reasoning.encrypted_content",
    "web_search_call.action.sources", "web_search_call.results",
)
MAX_INPUT_ITEMS = 2048
MAX_TEXT = 1_000_000
MAX_CONVERSATION_ITEMS = 20
ROLES = ("user", "assistant", "system", "developer")


def _text_parts(value: Any, path: str, role: str) -> list[dict]:
    if isinstance(value, str):
        f.string(value, path, max_length=MAX_TEXT)
        return content_from_text(value)
    parts = f.array(value, path, min_items=1)
    stored = []
    for i, part in enumerate(parts):
        part_path = f.join(path, i)
        if not isinstance(part, dict):
            raise f.invalid_type(part_path, "an object", part)
        kind = f.string(part.get("type"), f.join(part_path, "type"),
                        choices=("input_text", "output_text", "input_image", "input_file", "refusal"))
        if kind in ("input_text", "output_text"):
            f.obj(part, part_path, allowed=("type", "text", "annotations", "logprobs"), required=("text",))
            stored.append(text_part(f.string(part["text"], f.join(part_path, "text"), max_length=MAX_TEXT)))
        elif kind == "refusal":
            f.obj(part, part_path, allowed=("type", "refusal"), required=("refusal",))
            stored.append(text_part(f.string(part["refusal"], f.join(part_path, "refusal"))))
        elif kind == "input_image" and role == "user":
            f.obj(part, part_path, allowed=("type", "image_url", "file_id", "detail"))
            detail = f.string(part.get("detail"), f.join(part_path, "detail"), nullable=True,
                              choices=("auto", "low", "high")) or "auto"
            if part.get("file_id"):
                stored.append({"type": "image_file", "image_file": {
                    "file_id": f.string(part["file_id"], f.join(part_path, "file_id")), "detail": detail}})
            else:
                url = f.string(part.get("image_url"), f.join(part_path, "image_url"), non_empty=True)
                if not url.startswith(("http://", "https://", "data:image/")):
                    raise f.invalid_value(f.join(part_path, "image_url"), "expected an http(s) or data:image/ URL.")
                stored.append({"type": "image_url", "image_url": {"url": url, "detail": detail}})
        elif kind == "input_file" and role == "user":
            from responses_api.input_files import placeholder

            stored.append(placeholder(part, part_path))
        else:
            raise f.invalid_value(f.join(part_path, "type"), f"'{kind}' parts are not supported in {role} messages "
                                                             "by Entities (see docs/responses.md).")
    return stored


def _message(item: dict, path: str) -> dict:
    f.obj(item, path, allowed=("type", "role", "content", "id", "status"), required=("role", "content"))
    role = f.string(item["role"], f.join(path, "role"), choices=ROLES)
    return {"role": role, "content": _text_parts(item["content"], f.join(path, "content"), role)}


def input_items(value: Any, path: str = "input") -> dict:
    """``input`` → messages (stored shape), system texts, function outputs and echoed calls."""
    result: dict = {"messages": [], "system": [], "outputs": [], "echoed_calls": []}
    if value is None:
        return result
    if isinstance(value, str):
        f.string(value, path, max_length=MAX_TEXT)
        result["messages"].append({"role": "user", "content": content_from_text(value)})
        return result
    items = f.array(value, path, max_items=MAX_INPUT_ITEMS)
    for i, item in enumerate(items):
        item_path = f.join(path, i)
        if not isinstance(item, dict):
            raise f.invalid_type(item_path, "an object", item)
        kind = item.get("type") or "message"
        if kind == "message":
            message = _message(item, item_path)
            if message["role"] in ("system", "developer"):
                result["system"].append("".join(p["text"]["value"] for p in message["content"]
                                                if p.get("type") == "text"))
            else:
                result["messages"].append(message)
        elif kind == "function_call_output":
            f.obj(item, item_path, allowed=("type", "call_id", "output", "id", "status"),
                  required=("call_id", "output"))
            output = item["output"]
            if not isinstance(output, str):
                parts = _text_parts(output, f.join(item_path, "output"), "tool")
                output = "".join(p["text"]["value"] for p in parts)
            result["outputs"].append({"tool_call_id": f.string(item["call_id"], f.join(item_path, "call_id")),
                                      "output": output})
        elif kind == "function_call":
            f.obj(item, item_path, allowed=("type", "call_id", "name", "arguments", "id", "status"),
                  required=("call_id", "name", "arguments"))
            result["echoed_calls"].append(f.string(item["call_id"], f.join(item_path, "call_id")))
        else:
            raise f.invalid_value(f.join(item_path, "type"), f"input items of type '{kind}' are not supported "
                                                             "by Entities (see docs/responses.md).")
    return result


def _tools(value: Any, path: str = "tools") -> list[dict]:
    tools = []
    for i, tool in enumerate(f.array(value, path, nullable=True, max_items=128) or []):
        tool_path = f.join(path, i)
        if not isinstance(tool, dict):
            raise f.invalid_type(tool_path, "an object", tool)
        kind = f.string(tool.get("type"), f.join(tool_path, "type"))
        if kind == "function":
            f.obj(tool, tool_path, allowed=("type", "name", "description", "parameters", "strict", "server_side"),
                  required=("name",))
            fn = {"name": f.name_string(tool["name"], f.join(tool_path, "name"))}
            if tool.get("description") is not None:
                fn["description"] = f.string(tool["description"], f.join(tool_path, "description"))
            if tool.get("parameters") is not None:
                if not isinstance(tool["parameters"], dict):
                    raise f.invalid_type(f.join(tool_path, "parameters"), "an object", tool["parameters"])
                fn["parameters"] = tool["parameters"]
            if tool.get("strict") is not None:
                fn["strict"] = f.boolean(tool["strict"], f.join(tool_path, "strict"))
            # Entities extension: run the server's function of this name (docs/tools.md).
            server_side = f.boolean(tool.get("server_side"), f.join(tool_path, "server_side"), nullable=True)
            if server_side:
                from inference.registry import get_function

                if get_function(fn["name"]) is None:
                    raise f.invalid_value(f.join(tool_path, "server_side"), f"there is no server function named "
                                          f"'{fn['name']}'; leave 'server_side' out to answer the calls yourself.")
            tools.append({"type": "function", "function": fn, **({"server_side": True} if server_side else {})})
        elif kind == "code_interpreter":
            f.obj(tool, tool_path, allowed=("type", "container"))
            tools.append({"type": "code_interpreter"})
        elif kind == "file_search":
            from responses_api.file_search import tool_from_request

            tools.append(tool_from_request(tool, tool_path))
        else:
            raise f.invalid_value(f.join(tool_path, "type"), f"tools of type '{kind}' are not supported by Entities "
                                                             "(see docs/responses.md).")
    return tools


def _tool_choice(value: Any, path: str = "tool_choice"):
    if value is None:
        return None
    if isinstance(value, str):
        return f.string(value, path, choices=("none", "auto", "required"))
    f.obj(value, path, allowed=("type", "name"), required=("type",))
    kind = f.string(value["type"], f.join(path, "type"), choices=("function", "code_interpreter", "file_search"))
    if kind == "function":
        return {"type": "function", "function": {"name": f.name_string(value.get("name"), f.join(path, "name"))}}
    return {"type": kind}


def _text_format(value: Any, path: str = "text"):
    if value is None:
        return None
    f.obj(value, path, allowed=("format", "verbosity"))
    fmt = value.get("format")
    if fmt is None:
        return None
    fmt_path = f.join(path, "format")
    f.obj(fmt, fmt_path, allowed=("type", "name", "schema", "description", "strict"), required=("type",))
    kind = f.string(fmt["type"], f.join(fmt_path, "type"), choices=("text", "json_object", "json_schema"))
    if kind == "text":
        return "auto"
    if kind == "json_object":
        return {"type": "json_object"}
    f.obj(fmt, fmt_path, allowed=("type", "name", "schema", "description", "strict"), required=("name", "schema"))
    if not isinstance(fmt["schema"], dict):
        raise f.invalid_type(f.join(fmt_path, "schema"), "an object", fmt["schema"])
    schema = {"name": f.name_string(fmt["name"], f.join(fmt_path, "name")), "schema": fmt["schema"]}
    if fmt.get("description") is not None:
        schema["description"] = f.string(fmt["description"], f.join(fmt_path, "description"))
    if fmt.get("strict") is not None:
        schema["strict"] = f.boolean(fmt["strict"], f.join(fmt_path, "strict"))
    return {"type": "json_schema", "json_schema": schema}


def response_create(body: Any) -> dict:
    """A create-response body → ``{"input", "options" (run options), "conversation", …}``."""
    f.obj(body, "", allowed=CREATE_FIELDS)
    if body.get("conversation") is not None and body.get("previous_response_id") is not None:
        raise InvalidRequest("'previous_response_id' and 'conversation' cannot be used together.",
                             param="previous_response_id", code="invalid_request")
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        f.obj(conversation, "conversation", allowed=("id",), required=("id",))
        conversation = conversation["id"]
    reasoning = body.get("reasoning")
    if reasoning is not None:
        f.obj(reasoning, "reasoning", allowed=("effort", "summary", "generate_summary"))
    include = f.array(body.get("include"), "include", nullable=True) or []
    for i, entry in enumerate(include):
        f.string(entry, f.join("include", i), choices=INCLUDABLE)
    truncation = f.string(body.get("truncation"), "truncation", nullable=True, choices=("auto", "disabled"))
    background = bool(f.boolean(body.get("background"), "background", nullable=True))
    store = f.boolean(body.get("store"), "store", nullable=True)
    if background and store is False:
        raise InvalidRequest("Background responses must be stored: 'background' needs 'store' true.", param="store")
    inputs = input_items(body.get("input"))
    instructions = f.string(body.get("instructions"), "instructions", nullable=True, max_length=256_000)
    options = {
        "model": f.string(body.get("model"), "model", non_empty=True, max_length=256) if body.get("model") else None,
        "instructions": "\n\n".join(t for t in [instructions or "", *inputs["system"]] if t),
        "tools": _tools(body.get("tools")),
        "tool_choice": _tool_choice(body.get("tool_choice")),
        "parallel_tool_calls": f.boolean(body.get("parallel_tool_calls"), "parallel_tool_calls", nullable=True),
        "max_completion_tokens": f.integer(body.get("max_output_tokens"), "max_output_tokens", minimum=16),
        "temperature": f.number(body.get("temperature"), "temperature", minimum=0, maximum=2),
        "top_p": f.number(body.get("top_p"), "top_p", minimum=0, maximum=1),
        "response_format": _text_format(body.get("text")),
        "reasoning_effort": f.string((reasoning or {}).get("effort"), "reasoning.effort", nullable=True,
                                     choices=("none", "minimal", "low", "medium", "high", "xhigh")),
        "metadata": f.metadata(body.get("metadata")) or {},
        "max_tool_calls": f.integer(body.get("max_tool_calls"), "max_tool_calls", minimum=1),
        # The engine streams (and keeps showing) the search results' text only when asked.
        "include": ["file_search_call.results"] if "file_search_call.results" in include else None,
    }
    return {
        "input": inputs,
        "options": {k: v for k, v in options.items() if v is not None},
        "conversation": f.string(conversation, "conversation", nullable=True, non_empty=True),
        "previous_response_id": f.string(body.get("previous_response_id"), "previous_response_id", nullable=True,
                                         non_empty=True),
        "background": background,
        "store": store is not False,
        "stream": f.stream_flag(body.get("stream")),
        "extras": {"max_tool_calls": f.integer(body.get("max_tool_calls"), "max_tool_calls", minimum=1),
                   "truncation": truncation, "reasoning": reasoning, "include": include,
                   # Accepted and shown back as OpenAI does; no backend here uses them.
                   "user": f.string(body.get("user"), "user", nullable=True, max_length=512),
                   "safety_identifier": f.string(body.get("safety_identifier"), "safety_identifier",
                                                 nullable=True, max_length=512),
                   "prompt_cache_key": f.string(body.get("prompt_cache_key"), "prompt_cache_key", nullable=True,
                                                max_length=512),
                   "top_logprobs": f.integer(body.get("top_logprobs"), "top_logprobs", minimum=0, maximum=20)},
    }


def conversation_create(body: Any) -> dict:
    f.obj(body if body is not None else {}, "", allowed=("items", "metadata"))
    body = body or {}
    items = f.array(body.get("items"), "items", nullable=True, max_items=MAX_CONVERSATION_ITEMS) or []
    parsed = input_items(items, "items") if items else input_items(None)
    if parsed["outputs"] or parsed["echoed_calls"] or parsed["system"]:
        raise InvalidRequest("Entities stores user and assistant messages as conversation items; other item types "
                             "are not supported here.", param="items")
    return {"messages": parsed["messages"], "metadata": f.metadata(body.get("metadata")) or {}}


def conversation_update(body: Any) -> dict:
    f.obj(body, "", allowed=("metadata",), required=("metadata",))
    return {"metadata": f.metadata(body.get("metadata")) or {}}


def conversation_items_create(body: Any) -> list[dict]:
    f.obj(body, "", allowed=("items",), required=("items",))
    f.array(body["items"], "items", min_items=1, max_items=MAX_CONVERSATION_ITEMS)
    return conversation_create({"items": body["items"]})["messages"]


def list_params(query) -> tuple[int, str, str | None]:
    """``limit`` (1–100, default 20), ``order`` (asc|desc, default desc), ``after``."""
    raw = query.get("limit") or "20"
    try:
        limit = int(raw)
    except ValueError as exc:
        raise InvalidRequest("Invalid 'limit': expected an integer from 1 to 100.", param="limit") from exc
    if not 1 <= limit <= 100:
        raise InvalidRequest(f"Invalid 'limit': {limit} is not between 1 and 100.", param="limit")
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequest("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    return limit, order, query.get("after") or None
