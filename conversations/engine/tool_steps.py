"""A run's tool steps: announcing the model's tool calls as they stream, then recording and
running them. A mixin of ``RunExecutor`` (``engine/executor.py``), which provides ``run``,
``stream``, ``usage``, ``waited``, ``emit``, ``emit_run``, ``_close_message`` and
``_observe_end``. The two call payload builders are shared with the replay
(``engine/replay.py``), so a replayed step shows exactly what the live one did.
"""

from __future__ import annotations

import asyncio
import time
from django.utils import timezone

from conversations.engine import store
from conversations.engine.db import db
from conversations.engine.endings import RunFailed
from conversations.engine.events import step_tool_call_delta
from conversations.engine.tools import classify_call, code_from_arguments, execute_action, hold_calls_over_limit
from conversations.models import Action
from conversations.presenters import file_search_object, new_tool_step_object, tool_step_object
from inference.events import ToolCallDelta
from kernel.ids import new_call_id, new_step_id

# ``Turn`` in the annotations below is ``engine.executor.Turn``; not imported, so the
# executor's modules form no cycle (annotations are never evaluated here).


def tool_call_opening(call_id: str, kind: str, name: str, arguments: str) -> dict:
    """A tool call as its step first announces it: ``kind`` is the call's tool type
    (``code_interpreter``, ``file_search``, anything else a function)."""
    if kind == "code_interpreter":
        return {"id": call_id, "type": "code_interpreter", "code_interpreter": {"input": "", "outputs": []}}
    if kind == "file_search":
        return {"id": call_id, "type": "file_search", "file_search": {}}
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments, "output": None}}


def tool_call_result(action: Action, *, include_content: bool) -> dict:
    """The step delta that carries a finished server-side call's outcome."""
    if action.tool_type == Action.ToolType.CODE_INTERPRETER:
        outputs = [dict(o, index=i) for i, o in enumerate(action.outputs or [])]
        return {"type": "code_interpreter",
                "code_interpreter": {"input": code_from_arguments(action.arguments), "outputs": outputs}}
    if action.tool_type == Action.ToolType.FILE_SEARCH:
        return {"type": "file_search", "file_search": file_search_object(action, include_content=include_content)}
    return {"type": "function", "function": {"output": action.output}}


class RunToolSteps:
    """The tool half of the executor."""

    async def _tool_delta(self, turn: Turn, event: ToolCallDelta) -> None:
        if turn.message_open:
            await self._close_message(turn)  # never interleave a message and a tool step
        if turn.step_id is None:
            turn.step_id = turn.reasoning.step_id() or new_step_id()
            step = new_tool_step_object(self.run, turn.step_id, timezone.now())
            self.emit("thread.run.step.created", step)
            self.emit("thread.run.step.in_progress", step)
        call = turn.calls.get(event.index)
        if call is None:
            call = turn.calls[event.index] = {"id": new_call_id(), "name": event.name or "", "fragments": [],
                                               "announced": False}
        elif event.name and not call["name"]:
            call["name"] = event.name
        if event.arguments:
            call["fragments"].append(event.arguments)
        if not call["name"]:
            return
        index = sorted(turn.calls).index(event.index)
        if not call["announced"]:
            call["announced"] = True
            kind = classify_call(call["name"], self.run.tools)[0]
            first = tool_call_opening(call["id"], kind, call["name"], "".join(call["fragments"]))
            self.emit("thread.run.step.delta", step_tool_call_delta(turn.step_id, index, first))
        elif event.arguments and call["name"] not in ("code_interpreter", "file_search"):
            self.emit("thread.run.step.delta", step_tool_call_delta(
                turn.step_id, index, {"type": "function", "function": {"arguments": event.arguments}}))

    async def _tool_calls(self, turn: Turn) -> bool:
        """Record and run the turn's tool calls. True when the run paused for the client."""
        specs = []
        for position, index in enumerate(sorted(turn.calls)):
            call = turn.calls[index]
            name = call["name"] or "unknown"
            tool_type, client_side = classify_call(name, self.run.tools)
            specs.append({"id": call["id"], "name": name, "arguments": "".join(call["fragments"]) or "{}",
                          "tool_type": tool_type, "client_side": client_side, "position": position})
        actions = await db(store.create_actions, self.run, turn.step_id, specs, reasoning=turn.reasoning.text)
        server = [a for a in actions if not a.client_side]
        if server:
            tools_started = time.perf_counter()
            await db(hold_calls_over_limit, self.run, server)
            await asyncio.gather(*(execute_action(a, run_tools=self.run.tools, run=self.run) for a in server
                                   if a.status == Action.Status.PENDING))
            self.waited += time.perf_counter() - tools_started
            await db(store.finish_actions, server)
            for position, action in enumerate(actions):
                if action.client_side:
                    continue
                delta = tool_call_result(action, include_content=bool(self.run.include))
                self.emit("thread.run.step.delta", step_tool_call_delta(turn.step_id, position, delta))
        client = [a for a in actions if a.client_side]
        if client:
            paused = await db(store.require_action, self.run, client, self.usage, self.stream.last_seq + 1)
            if paused is None:
                raise RunFailed("The run changed state while waiting for tool outputs.")
            self.run = paused
            self._observe_end("requires_action")
            self.emit_run("thread.run.requires_action")
            return True
        self.emit("thread.run.step.completed", tool_step_object(self.run, turn.step_id, actions,
                                                                include_content=bool(self.run.include)))
        return False
