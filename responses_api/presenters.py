"""Public Responses / Conversations shapes, built from threads, messages, runs and actions.

Ids are the stored ones under the Responses API's prefixes: a thread ``thread_X`` is the
conversation ``conv_X``; an action ``call_X`` is the function_call ``fc_X`` (its
``call_id`` stays ``call_X``), its output ``fco_X``, a code-interpreter call ``ci_X``, a
server-side function ``mcp_X``. Messages keep their ``msg_`` ids. The reasoning before a
message ``msg_X`` or a tool step ``step_X`` is the reasoning item ``rs_X``.
"""

from __future__ import annotations

import json

from conversations.models import Action, Message, Run, Thread
from kernel.timestamps import unix
from responses_api.file_search import call_item_of as file_search_call_item
from responses_api.file_search import citations
from responses_api.file_search import public_tool as public_file_search_tool

# How a run's status reads as a response's status (a paused run answered its segment).
RESPONSE_STATUS = {
    "queued": "queued", "in_progress": "in_progress", "cancelling": "in_progress",
    "requires_action": "completed", "completed": "completed", "incomplete": "incomplete",
    "cancelled": "cancelled", "failed": "failed", "expired": "failed",
}
SERVER_LABEL = "entities"  # server-side (registered) functions appear as mcp_call items of this server


def swap_prefix(value: str, prefix: str) -> str:
    """``swap_prefix("thread_X", "conv") == "conv_X"``."""
    return prefix + "_" + value.split("_", 1)[-1]


def conversation_id(thread_id: str) -> str:
    return swap_prefix(thread_id, "conv")


def thread_id_of(conv_id: str) -> str:
    return swap_prefix(conv_id, "thread") if conv_id.startswith("conv_") else ""


def conversation_object(thread: Thread) -> dict:
    return {"id": conversation_id(thread.id), "object": "conversation", "created_at": unix(thread.created_at),
            "metadata": thread.metadata or {}}


def _input_part(part: dict) -> dict:
    kind = part.get("type")
    if kind == "text":
        return {"type": "input_text", "text": part.get("text", {}).get("value", "")}
    if kind == "image_url":
        inner = part.get("image_url") or {}
        return {"type": "input_image", "image_url": inner.get("url"), "file_id": None,
                "detail": inner.get("detail") or "auto"}
    if kind == "image_file":
        inner = part.get("image_file") or {}
        return {"type": "input_image", "image_url": None, "file_id": inner.get("file_id"),
                "detail": inner.get("detail") or "auto"}
    return {"type": "input_text", "text": ""}


def output_text_part(text: str, annotations: list[dict] | None = None) -> dict:
    return {"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}


def message_item(message: Message) -> dict:
    """A message as a Responses item: user parts are input parts, assistant parts output_text."""
    if message.role == Message.Role.ASSISTANT:
        content = [output_text_part(p.get("text", {}).get("value", ""), citations(p.get("text", {}).get("annotations")))
                   for p in message.content or [] if p.get("type") == "text"]
    else:
        content = [_input_part(p) for p in message.content or []]
    status = "incomplete" if message.status == Message.Status.INCOMPLETE else (
        "in_progress" if message.status == Message.Status.IN_PROGRESS else "completed")
    return {"id": message.id, "type": "message", "status": status, "role": message.role, "content": content}


def reasoning_item(item_id: str, text: str, status: str = "completed") -> dict:
    """A reasoning item: the model's reasoning text as one ``reasoning_text`` part, no summary."""
    return {"id": item_id, "type": "reasoning", "summary": [], "content": [reasoning_text_part(text)],
            "status": status}


def reasoning_text_part(text: str) -> dict:
    return {"type": "reasoning_text", "text": text}


def message_items(message: Message) -> list[dict]:
    """A message as Responses items: the reasoning that came before it, if any, then the message."""
    item = message_item(message)
    if not message.reasoning:
        return [item]
    return [reasoning_item(swap_prefix(message.id, "rs"), message.reasoning), item]


def _code(arguments: str) -> str:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return arguments or ""
    return str(parsed.get("code", "")) if isinstance(parsed, dict) else str(parsed)


def code_interpreter_item(action: Action, status: str = "completed") -> dict:
    outputs = []
    for out in action.outputs or []:
        if out.get("type") == "logs":
            outputs.append({"type": "logs", "logs": out.get("logs", "")})
        elif out.get("type") == "image":
            file_id = (out.get("image") or {}).get("file_id", "")
            outputs.append({"type": "image", "url": f"/v1/files/{file_id}/content"})
    return {"id": swap_prefix(action.id, "ci"), "type": "code_interpreter_call", "status": status,
            "code": _code(action.arguments), "container_id": "entities-sandbox", "outputs": outputs}


def function_call_item(*, call_id: str, name: str, arguments: str, status: str = "completed") -> dict:
    return {"id": swap_prefix(call_id, "fc"), "type": "function_call", "status": status, "call_id": call_id,
            "name": name, "arguments": arguments}


def mcp_call_item(action: Action, status: str = "completed") -> dict:
    return {"id": swap_prefix(action.id, "mcp"), "type": "mcp_call", "status": status, "server_label": SERVER_LABEL,
            "name": action.function_name, "arguments": action.arguments or "{}", "output": action.output,
            "error": {"type": "tool_execution_error", "message": action.error} if action.error else None}


def function_output_item(action: Action) -> dict:
    return {"id": swap_prefix(action.id, "fco"), "type": "function_call_output", "status": "completed",
            "call_id": action.id, "output": action.output or ""}


def action_items(action: Action, *, with_outputs: bool, search_results: bool = False) -> list[dict]:
    """The items of one tool call; ``with_outputs`` adds a client function's output (history views),
    ``search_results`` a file search's results (include=["file_search_call.results"]).
    The step's first call brings the reasoning before the step, if any."""
    if action.tool_type == Action.ToolType.FILE_SEARCH:
        items = [file_search_call_item(action, with_results=search_results)]
    else:
        items = _call_items(action, with_outputs=with_outputs)
    if action.reasoning:
        items.insert(0, reasoning_item(swap_prefix(action.step_id, "rs"), action.reasoning))
    return items


def _call_items(action: Action, *, with_outputs: bool) -> list[dict]:
    if action.tool_type == Action.ToolType.CODE_INTERPRETER:
        return [code_interpreter_item(action, "failed" if action.status == Action.Status.FAILED else "completed")]
    if not action.client_side:
        return [mcp_call_item(action, "failed" if action.status == Action.Status.FAILED else "completed")]
    items = [function_call_item(call_id=action.id, name=action.function_name, arguments=action.arguments or "{}")]
    if with_outputs and action.output is not None and action.status == Action.Status.COMPLETED:
        items.append(function_output_item(action))
    return items


def usage_object(usage: dict | None) -> dict | None:
    if not usage:
        return None
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
    return {"input_tokens": usage.get("prompt_tokens", 0), "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.get("completion_tokens", 0), "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": usage.get("total_tokens", 0)}


def public_tool(tool: dict) -> dict:
    """A run tool in the Responses shape (flat function tools)."""
    if tool.get("type") == "function":
        fn = tool.get("function") or {}
        shown = {"type": "function", "name": fn.get("name"), "description": fn.get("description"),
                 "parameters": fn.get("parameters"), "strict": bool(fn.get("strict", False))}
        if tool.get("server_side"):
            shown["server_side"] = True  # Entities extension: the server's registered function runs
        return shown
    if tool.get("type") == "code_interpreter":
        return {"type": "code_interpreter", "container": {"type": "auto"}}
    if tool.get("type") == "file_search":
        return public_file_search_tool(tool)
    return dict(tool)


def public_tool_choice(choice) -> str | dict:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "name": (choice.get("function") or {}).get("name")}
    return choice if choice is not None else "auto"


def text_config(response_format) -> dict:
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        return {"format": {"type": "json_schema", "name": schema.get("name"), "schema": schema.get("schema"),
                           "description": schema.get("description"), "strict": schema.get("strict")}}
    if isinstance(response_format, dict) and response_format.get("type") == "json_object":
        return {"format": {"type": "json_object"}}
    return {"format": {"type": "text"}}


def error_object_from(run_status: str, last_error: dict | None) -> dict | None:
    """The response's ``error`` for a run that ended ``run_status`` with ``last_error``."""
    if run_status == "expired":
        return {"code": "server_error", "message": "The response ran out of time (ENTITIES_RUN_EXPIRES_SECONDS)."}
    if run_status != "failed" or not last_error:
        return None
    code = last_error.get("code") or "server_error"
    return {"code": code if code in ("server_error", "rate_limit_exceeded", "invalid_prompt") else "server_error",
            "message": last_error.get("message", "")}


def response_object(response, run: Run, output: list[dict], *, status: str | None = None) -> dict:
    """The Response object. ``status`` overrides the run's (an earlier segment of a run is completed)."""
    status = status or RESPONSE_STATUS.get(run.status, run.status)
    extras = response.extras or {}
    incomplete = None
    if status == "incomplete":
        incomplete = {"reason": "max_output_tokens"}
    done = status in ("completed", "incomplete", "failed", "cancelled")
    return {
        "id": response.id,
        "object": "response",
        "created_at": unix(response.created_at),
        "status": status,
        "background": response.background,
        "completed_at": unix(run.completed_at) if status == "completed" and run.completed_at else (
            unix(response.created_at) if status == "completed" else None),
        "conversation": {"id": conversation_id(run.thread_id)} if response.in_conversation else None,
        "error": error_object_from(run.status, run.last_error),
        "incomplete_details": incomplete,
        "instructions": run.instructions or None,
        "max_output_tokens": run.max_completion_tokens,
        "max_tool_calls": extras.get("max_tool_calls"),
        "metadata": run.metadata or {},
        "model": run.model,
        "output": output,
        "parallel_tool_calls": run.parallel_tool_calls,
        "previous_response_id": response.previous_response_id,
        "reasoning": extras.get("reasoning") or {"effort": run.reasoning_effort, "summary": None},
        "service_tier": "default",
        "store": response.store,
        "temperature": run.temperature if run.temperature is not None else 1.0,
        "text": text_config(run.response_format),
        "tool_choice": public_tool_choice(run.tool_choice),
        "tools": [public_tool(t) for t in run.tools or []],
        "top_p": run.top_p if run.top_p is not None else 1.0,
        "truncation": extras.get("truncation") or "disabled",
        "usage": usage_object(run.usage) if done else None,
        "user": extras.get("user"),
        # Fields the Open Responses schema requires: penalties Entities does not send, and the
        # request's identifiers shown back.
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "top_logprobs": extras.get("top_logprobs") or 0,
        "safety_identifier": extras.get("safety_identifier"),
        "prompt_cache_key": extras.get("prompt_cache_key"),
    }
