"""What the model sees: instructions, the thread's history, tool calls and results.

Built once per model turn from stored state, in the OpenAI chat-completions format that
every backend accepts (each backend converts it to its own wire format).
"""

from __future__ import annotations

from conversations.models import Action, Message, Run
from inference.backends.base import content_text
from inference.events import ChatRequest

CODE_INTERPRETER_FUNCTION = {
    "type": "function",
    "function": {
        "name": "code_interpreter",
        "description": "Run Python 3 code in a sandbox without network access and return its output. "
                       "Print what you want to see.",
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
        },
    },
}

CHARS_PER_TOKEN = 4  # rough estimate for prompt truncation when the backend gives no tokenizer


def model_tools(run_tools: list[dict], *, file_search: bool = False) -> list[dict]:
    """The run's tools as chat-completions function tools; with ``file_search`` (the run has
    stores to search) the search function too."""
    tools = []
    for tool in run_tools or []:
        kind = tool.get("type")
        if kind == "function":
            fn = tool.get("function") or {}
            entry = {"name": fn.get("name"), "parameters": fn.get("parameters") or {"type": "object", "properties": {}}}
            if fn.get("description"):
                entry["description"] = fn["description"]
            tools.append({"type": "function", "function": entry})
        elif kind == "code_interpreter":
            tools.append(CODE_INTERPRETER_FUNCTION)
        elif kind == "file_search" and file_search:
            from retrieval.tool import FILE_SEARCH_FUNCTION

            tools.append(FILE_SEARCH_FUNCTION)
    return tools


def model_tool_choice(choice) -> str | dict | None:
    if choice in (None, "auto"):
        return None
    if isinstance(choice, dict) and choice.get("type") == "code_interpreter":
        return {"type": "function", "function": {"name": "code_interpreter"}}
    if isinstance(choice, dict) and choice.get("type") == "file_search":
        return {"type": "function", "function": {"name": "file_search"}}
    return choice


def model_response_format(fmt) -> dict | None:
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        return fmt
    return None


def _message_text(message: Message) -> str | list[dict]:
    """The message's text, or, when a user's message has images, chat-completions parts with
    them as ``image_url`` parts (each backend sends them on or puts in a placeholder)."""
    if message.role == Message.Role.USER and any(
            p.get("type") in ("image_file", "image_url") for p in message.content or []):
        from conversations.engine.images import content_parts

        return content_parts(message)
    parts = []
    for part in message.content or []:
        if part.get("type") == "text":
            parts.append(part.get("text", {}).get("value", ""))
        elif part.get("type") == "image_file":
            # Images the code interpreter made: the model saw the tool result that named them.
            parts.append(f"[image {(part.get('image_file') or {}).get('file_id')} shown to the user]")
        elif part.get("type") == "image_url":
            parts.append("[image omitted: this backend receives text only]")
    return "".join(parts)


def _tool_turn(actions: list[Action]) -> list[dict]:
    call_msg = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": a.id, "type": "function", "function": {"name": a.function_name or a.tool_type, "arguments": a.arguments or "{}"}}
            for a in actions
        ],
    }
    results = [
        {"role": "tool", "tool_call_id": a.id, "content": a.output if a.output is not None else (a.error or "")}
        for a in actions
    ]
    return [call_msg, *results]


def _truncate(history: list[dict], run: Run) -> list[dict]:
    strategy = run.truncation_strategy or {}
    if strategy.get("type") == "last_messages" and strategy.get("last_messages"):
        history = history[-int(strategy["last_messages"]):]
        # Never start on a tool result whose call was cut off.
        while history and history[0]["role"] == "tool":
            history = history[1:]
    if run.max_prompt_tokens:
        budget = run.max_prompt_tokens * CHARS_PER_TOKEN
        while len(history) > 1 and sum(len(content_text(m.get("content"))) for m in history) > budget:
            history = history[1:]
            while history and history[0]["role"] == "tool":
                history = history[1:]
    return history


def build_chat_request(run: Run, *, backend_model: str) -> ChatRequest:
    """The request for the next model turn of ``run``."""
    items: list[tuple] = []
    for message in Message.objects.filter(thread_id=run.thread_id).order_by("created_at", "id"):
        if message.run_id == run.id and message.role == Message.Role.ASSISTANT and not message.content:
            continue
        text = _message_text(message)
        if message.role == Message.Role.ASSISTANT and not text:
            continue
        items.append((message.created_at, 0, [{"role": message.role, "content": text}]))
    groups: dict[str, list[Action]] = {}
    for action in Action.objects.filter(run=run).order_by("created_at", "index"):
        groups.setdefault(action.step_id, []).append(action)
    for actions in groups.values():
        items.append((actions[0].created_at, 1, _tool_turn(actions)))
    items.sort(key=lambda item: (item[0], item[1]))
    history = [m for _, _, chunk in items for m in chunk]
    history = _truncate(history, run)

    system = run.instructions or ""
    if run.additional_instructions:
        system = f"{system}\n\n{run.additional_instructions}" if system else run.additional_instructions
    if any(t.get("type") == "code_interpreter" for t in run.tools or []):
        from conversations.engine.code_files import files_note

        if note := files_note(run):  # the model is told where the run's files are
            system = f"{system}\n\n{note}" if system else note
    messages = ([{"role": "system", "content": system}] if system else []) + history
    from conversations.engine.search_files import offered
    from conversations.engine.tools import builtin_tools_spent, client_tools

    spent = builtin_tools_spent(run)
    tools = model_tools(client_tools(run.tools), file_search=False) if spent else \
        model_tools(run.tools, file_search=offered(run))
    forced = model_tool_choice(run.tool_choice)
    forced_name = (forced.get("function") or {}).get("name") if isinstance(forced, dict) else None
    if forced_name and forced_name not in {(t.get("function") or {}).get("name") for t in tools} and (
            spent or forced_name == "file_search"):
        choice = None  # no stores to search, or max_tool_calls spent: the model is not forced to call a tool it lacks
    elif spent and forced == "required":
        choice = None
    else:
        choice = model_tool_choice(run.tool_choice) if tools else None
    return ChatRequest(
        model=backend_model,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=run.parallel_tool_calls if tools else None,
        temperature=run.temperature,
        top_p=run.top_p,
        max_tokens=run.max_completion_tokens,
        response_format=model_response_format(run.response_format),
    )
