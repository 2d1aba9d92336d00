"""Executing the tool calls of a model turn: classify, run server-side ones, record outcomes."""

from __future__ import annotations

import asyncio
import json
import logging

from django.utils import timezone

from conversations.models import Action

log = logging.getLogger(__name__)

CODE_INTERPRETER = "code_interpreter"


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
