"""Public Assistants-API shapes for threads, messages, runs and run steps, and the chat export.

Every key of each object's required set is present (null rather than missing).
Run steps are derived: one `message_creation` step per assistant message of a run,
one `tool_calls` step per group of actions sharing a `step_id`.
"""

from __future__ import annotations

import json
from datetime import timezone as dt_timezone

from conversations.models import Action, Message, Run, Thread
from kernel.timestamps import unix


def thread_object(thread: Thread) -> dict:
    return {
        "id": thread.id,
        "object": "thread",
        "created_at": unix(thread.created_at),
        "tool_resources": thread.tool_resources or {},
        "metadata": thread.metadata or {},
        # Entities extensions (extra keys are ignored by the SDK): for the chat UI's sidebar.
        "title": thread.title,
        "updated_at": unix(thread.updated_at),
    }


def message_object(message: Message) -> dict:
    return {
        "id": message.id,
        "object": "thread.message",
        "created_at": unix(message.created_at),
        "thread_id": message.thread_id,
        "status": message.status,
        "incomplete_details": message.incomplete_details,
        "completed_at": unix(message.completed_at),
        "incomplete_at": unix(message.incomplete_at),
        "role": message.role,
        "content": message.content or [],
        "assistant_id": message.assistant_id,
        "run_id": message.run_id,
        "attachments": message.attachments or [],
        "metadata": message.metadata or {},
    }


def run_object(run: Run) -> dict:
    return {
        "id": run.id,
        "object": "thread.run",
        "created_at": unix(run.created_at),
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "status": run.status,
        "required_action": run.required_action,
        "last_error": run.last_error,
        "expires_at": unix(run.expires_at) if not run.is_terminal else None,
        "started_at": unix(run.started_at),
        "cancelled_at": unix(run.cancelled_at),
        "failed_at": unix(run.failed_at),
        "completed_at": unix(run.completed_at),
        "incomplete_details": run.incomplete_details,
        "model": run.model,
        "instructions": run.instructions,
        "tools": run.tools or [],
        "metadata": run.metadata or {},
        "usage": run.usage if run.is_terminal or run.status == "requires_action" else None,
        "temperature": run.temperature if run.temperature is not None else 1.0,
        "top_p": run.top_p if run.top_p is not None else 1.0,
        "max_prompt_tokens": run.max_prompt_tokens,
        "max_completion_tokens": run.max_completion_tokens,
        "truncation_strategy": run.truncation_strategy or {"type": "auto", "last_messages": None},
        "tool_choice": run.tool_choice if run.tool_choice is not None else "auto",
        "parallel_tool_calls": run.parallel_tool_calls,
        "response_format": run.response_format if run.response_format is not None else "auto",
        "reasoning_effort": run.reasoning_effort,
    }


def message_step_id(message_id: str) -> str:
    """The stable id of the message_creation step that produced ``message_id``."""
    return "step_" + message_id.removeprefix("msg_")


def file_search_object(action: Action, *, include_content: bool = False) -> dict:
    """A file_search call's ``ranking_options`` and ``results``; the stored chunk text is shown
    only with ``include_content`` (include[]=step_details.tool_calls[*].file_search.results[*].content)."""
    stored = action.outputs or {}
    ranking = stored.get("ranking_options") or {"ranker": "auto", "score_threshold": 0.0}
    results = []
    for result in stored.get("results") or []:
        shown = {"file_id": result.get("file_id"), "file_name": result.get("file_name"), "score": result.get("score")}
        if include_content:
            shown["content"] = result.get("content") or []
        results.append(shown)
    return {"ranking_options": ranking, "results": results}


def tool_call_object(action: Action, *, include_content: bool = False) -> dict:
    """One entry of a tool_calls step (function, code_interpreter or file_search; the search
    results' chunk text only with ``include_content``)."""
    if action.tool_type == Action.ToolType.FILE_SEARCH:
        return {"id": action.id, "type": "file_search",
                "file_search": file_search_object(action, include_content=include_content)}
    if action.tool_type == Action.ToolType.CODE_INTERPRETER:
        try:
            code = json.loads(action.arguments or "{}").get("code", action.arguments)
        except (ValueError, AttributeError):
            code = action.arguments
        return {
            "id": action.id,
            "type": "code_interpreter",
            "code_interpreter": {"input": code or "", "outputs": action.outputs or []},
        }
    return {
        "id": action.id,
        "type": "function",
        "function": {"name": action.function_name, "arguments": action.arguments, "output": action.output},
    }


# The step-status rule, for every surface (REST steps, live events, replays). A step left
# unfinished ends the way its run did; a message the run's ending closed says so in its
# incomplete reason before the run itself is stored as ended (the live stream announces
# the step then).
_STEP_STATUS_FOR_RUN = {"cancelled": "cancelled", "failed": "failed", "expired": "expired", "incomplete": "completed"}
_STEP_STATUS_FOR_REASON = {"run_cancelled": "cancelled", "run_failed": "failed", "run_expired": "expired"}


def _step_common(run: Run, step_id: str, created_at, step_type: str) -> dict:
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": unix(created_at),
        "assistant_id": run.assistant_id,
        "thread_id": run.thread_id,
        "run_id": run.id,
        "type": step_type,
        "last_error": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "metadata": {},
        "usage": None,
    }


def message_step_object(run: Run, message: Message) -> dict:
    step = _step_common(run, message_step_id(message.id), message.created_at, "message_creation")
    step["step_details"] = {"type": "message_creation", "message_creation": {"message_id": message.id}}
    if message.status == Message.Status.IN_PROGRESS:
        step["status"] = "in_progress" if not run.is_terminal else _STEP_STATUS_FOR_RUN.get(run.status, "completed")
    elif message.status == Message.Status.INCOMPLETE:
        if run.is_terminal:
            step["status"] = _STEP_STATUS_FOR_RUN.get(run.status, "cancelled")
        else:
            reason = (message.incomplete_details or {}).get("reason", "")
            step["status"] = _STEP_STATUS_FOR_REASON.get(reason, "completed")
    else:
        step["status"] = "completed"
    _fill_step_time(step, run, message.completed_at or message.incomplete_at)
    return step


def tool_step_object(run: Run, step_id: str, actions: list[Action], *, include_content: bool = False) -> dict:
    step = _step_common(run, step_id, actions[0].created_at, "tool_calls")
    step["step_details"] = {"type": "tool_calls",
                            "tool_calls": [tool_call_object(a, include_content=include_content) for a in actions]}
    statuses = {a.status for a in actions}
    if Action.Status.PENDING in statuses:
        step["status"] = "in_progress" if not run.is_terminal else _STEP_STATUS_FOR_RUN.get(run.status, "cancelled")
    elif statuses == {Action.Status.EXPIRED}:
        # Calls left unanswered: the step ends the way the run did (cancelled, failed, expired).
        step["status"] = _STEP_STATUS_FOR_RUN.get(run.status, "expired") if run.status != "incomplete" else "expired"
    else:
        step["status"] = "completed"
    done = [a.completed_at for a in actions if a.completed_at]
    _fill_step_time(step, run, max(done) if done else None)
    return step


def new_tool_step_object(run: Run, step_id: str, created_at) -> dict:
    """A tool_calls step as first announced, before its calls are known."""
    step = _step_common(run, step_id, created_at, "tool_calls")
    step["status"] = "in_progress"
    step["step_details"] = {"type": "tool_calls", "tool_calls": []}
    return step


def _fill_step_time(step: dict, run: Run, finished_at) -> None:
    status = step["status"]
    if status == "completed":
        step["completed_at"] = unix(finished_at or run.completed_at)
    elif status == "cancelled":
        # The step's own end first: the live event went out before the run itself ended
        # (a second later, at times), and a replay must show the same time.
        step["cancelled_at"] = unix(finished_at or run.cancelled_at)
    elif status == "failed":
        step["failed_at"] = unix(finished_at or run.failed_at)
        step["last_error"] = run.last_error
    elif status == "expired":
        step["expired_at"] = unix(finished_at or run.expires_at)


def thread_export_object(thread: Thread, messages: list[Message]) -> dict:
    """The chat export as JSON: the thread and its messages in the /v1 shapes."""
    return {"object": "chat.export", "thread": thread_object(thread), "messages": [message_object(m) for m in messages]}


def thread_export_markdown(thread: Thread, messages: list[Message]) -> str:
    """The chat export as a Markdown document: a heading with the title, then each message
    under who wrote it and when (UTC)."""
    lines = [f"# {thread.title or 'Chat'}", ""]
    for message in messages:
        who = "You" if message.role == Message.Role.USER else "Assistant"
        when = message.created_at.astimezone(dt_timezone.utc)
        lines += [f"## {who} · {when:%Y-%m-%d %H:%M} UTC", "", message.text().strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
