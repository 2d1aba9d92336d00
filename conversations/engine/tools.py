"""Executing the tool calls of a model turn: classify, run server-side ones, record outcomes."""

from __future__ import annotations

import asyncio
import json
import logging

from django.utils import timezone

from conversations.models import Action

log = logging.getLogger(__name__)

CODE_INTERPRETER = "code_interpreter"
TOOL_CALL_LIMIT_ERROR = "max_tool_calls reached"


def declared_functions(run_tools: list[dict]) -> set[str]:
    return {(t.get("function") or {}).get("name") for t in run_tools or [] if t.get("type") == "function"}


def server_side_functions(run_tools: list[dict]) -> set[str]:
    """Declared functions marked ``"server_side": true``: the assistant chose the server's function."""
    return {(t.get("function") or {}).get("name") for t in run_tools or []
            if t.get("type") == "function" and t.get("server_side") is True}


def code_interpreter_enabled(run_tools: list[dict]) -> bool:
    return any(t.get("type") == CODE_INTERPRETER for t in run_tools or [])


def classify_call(name: str, run_tools: list[dict], available_functions: dict | None = None) -> tuple[str, bool]:
    """(tool_type, client_side) for a call the model made.

    code_interpreter runs in the sandbox; a declared function marked ``server_side`` that
    is registered (or one in the backend's available_functions) runs here; any other
    declared one is the client's to run (requires_action), even when a server function
    has its name: OpenAI never runs a client's function. A call to an undeclared tool is
    answered here with an error the model can read.
    """
    if name == CODE_INTERPRETER and code_interpreter_enabled(run_tools):
        return Action.ToolType.CODE_INTERPRETER, False
    if name == Action.ToolType.FILE_SEARCH and name not in declared_functions(run_tools) and any(
            t.get("type") == Action.ToolType.FILE_SEARCH for t in run_tools or []):
        return Action.ToolType.FILE_SEARCH, False
    from inference.registry import get_function

    if name in declared_functions(run_tools):
        server = name in (available_functions or {}) or (
            name in server_side_functions(run_tools) and get_function(name) is not None)
        return Action.ToolType.FUNCTION, not server
    return Action.ToolType.FUNCTION, False


def builtin_calls_made(run) -> int:
    """How many server-side tool calls ``run`` has run (calls left out by max_tool_calls not counted)."""
    return Action.objects.filter(run_id=run.id, client_side=False).exclude(error=TOOL_CALL_LIMIT_ERROR).count()


def hold_calls_over_limit(run, actions: list[Action]) -> None:
    """Mark the server-side ``actions`` beyond ``run.max_tool_calls`` as not run: OpenAI ignores a
    model's further calls; the model reads why and answers (it is offered no built-in tool again)."""
    if run.max_tool_calls is None:
        return
    left = max(0, run.max_tool_calls - (builtin_calls_made(run) - len(actions)))
    for action in actions[left:]:
        action.output = json.dumps({"error": f"not run: this response may make at most {run.max_tool_calls} "
                                             "tool calls (max_tool_calls); answer with what you have"})
        action.status, action.error = Action.Status.FAILED, TOOL_CALL_LIMIT_ERROR
        action.completed_at = timezone.now()


def builtin_tools_spent(run) -> bool:
    """True once ``run`` made its max_tool_calls built-in / server-side calls."""
    return run.max_tool_calls is not None and builtin_calls_made(run) >= run.max_tool_calls


def client_tools(run_tools: list[dict]) -> list[dict]:
    """The client's functions of ``run_tools`` (what a run is offered once max_tool_calls is spent)."""
    return [t for t in run_tools or [] if t.get("type") == "function"
            and classify_call((t.get("function") or {}).get("name"), run_tools)[1]]


def code_from_arguments(arguments: str) -> str:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return arguments  # a model that sent bare code instead of JSON
    if isinstance(parsed, dict):
        return str(parsed.get("code", ""))
    return str(parsed)


async def execute_action(action: Action, *, run_tools: list[dict], available_functions: dict | None = None,
                         run=None) -> Action:
    """Run one server-side action; fill status, output (for the model) and outputs.

    With ``run``, the code interpreter gets the run's files and its written files become Files.
    """
    try:
        if action.tool_type == Action.ToolType.CODE_INTERPRETER and run is not None:
            from conversations.engine.code_files import run_code

            outputs, text, ok = await run_code(code_from_arguments(action.arguments), run)
            action.outputs, action.output = outputs, text
            action.status = Action.Status.COMPLETED if ok else Action.Status.FAILED
            action.error = None if ok else text
        elif action.tool_type == Action.ToolType.CODE_INTERPRETER:
            from inference.tools.code_interpreter import run_code_interpreter

            outputs, text, ok = await run_code_interpreter(code_from_arguments(action.arguments))
            action.outputs, action.output = outputs, text
            action.status = Action.Status.COMPLETED if ok else Action.Status.FAILED
            action.error = None if ok else text
        elif action.tool_type == Action.ToolType.FILE_SEARCH and run is not None:
            from conversations.engine.search_files import execute

            await execute(action, run)
        elif action.function_name not in declared_functions(run_tools):
            action.output = json.dumps({"error": f"the tool '{action.function_name}' is not enabled for this assistant"})
            action.status, action.error = Action.Status.FAILED, "tool not enabled"
        else:
            from inference.registry import execute_function

            outcome = await execute_function(action.function_name, action.arguments,
                                             available_functions=available_functions)
            action.output = outcome.output
            action.status = Action.Status.COMPLETED if outcome.ok else Action.Status.FAILED
            action.error = outcome.error
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken tool fails its action, never the server
        log.exception("tool %s failed", action.function_name)
        action.output = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        action.status, action.error = Action.Status.FAILED, str(exc)
    action.completed_at = timezone.now()
    return action
