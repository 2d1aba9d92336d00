"""One run's execution: model turns, tool calls and state, published as stream events.

The executor owns the run while it holds its lease. It writes at the edges only
(claim, message created, message finished, actions, pause or terminal status) and
publishes each lifecycle event after the write it describes has returned. Text deltas
live in memory and in the run's event log, never one database write per token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from conversations.engine import store
from conversations.engine.context import build_chat_request
from conversations.engine.db import db
from conversations.engine.endings import RunEndings, RunFailed
from conversations.engine.events import REASONING_DELTA, message_text_delta
from conversations.engine.reasoning import TurnReasoning
from conversations.engine.stream import RunStream
from conversations.engine.tool_steps import RunToolSteps
from conversations.models import Action, Message, Run
from conversations.presenters import message_object, message_step_object, run_object, tool_step_object
from kernel import metrics
from inference.events import ChatRequest, Finish, StreamError, TextDelta, ToolCallDelta, Usage
from inference.events import ReasoningDelta
from inference.factory import InferenceFactory
from inference.routing import resolve_model

log = logging.getLogger(__name__)

# Grace on top of INFERENCE_READ_TIMEOUT before the engine itself gives up on a backend
# that breaks its contract and neither sends nor errors.
STALL_GRACE_SECONDS = 5.0
RESCHEDULE_EVERY_SECONDS = 1.0


@dataclass
class Turn:
    """What one model turn produced."""

    message: Message | None = None
    parts: list[str] = field(default_factory=list)
    message_open: bool = False
    step_id: str | None = None
    calls: dict[int, dict] = field(default_factory=dict)
    finish: str | None = None
    usage: tuple[int, int, int] = (0, 0, 0)  # prompt, completion, reasoning (of completion)
    saved: int = 0  # how many of ``parts`` the last checkpoint stored
    reasoning: TurnReasoning = field(default_factory=TurnReasoning)


class RunExecutor(RunToolSteps, RunEndings):
    def __init__(self, run_id: str, stream: RunStream, *, owner: str, backend=None, run: Run | None = None,
                 request: ChatRequest | None = None):
        self.run_id = run_id
        # A run claimed at its creation by this process, and its first model request (or None).
        self.handed, self.prepared = run, request
        self.stream = stream
        self.owner = owner
        self.backend = backend  # None: the backend the run's model routes to
        self.backend_chosen = False
        self.started = False
        self.run: Run | None = None
        self.turn: Turn | None = None
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        # "cancelled" | "expired" | "ended_elsewhere" | "restarted" once asked to stop
        self.stop_reason: str | None = None
        self.finishing = False
        # For the overhead metric: wall time minus waiting on the model server and tools.
        self.started_at: float | None = None
        self.waited = 0.0
        self.deltas = 0
        self.first_delta_seen = False

    # -- publishing ---------------------------------------------------------------------
    def emit(self, name: str, data) -> None:
        self.stream.append(name, data)

    def emit_run(self, *names: str) -> None:
        """Announce the run as it is now, under each of ``names`` (one payload, built once)."""
        data = run_object(self.run)
        for name in names:
            self.emit(name, data)

    # -- control (the runtime calls these on the loop) -----------------------------------
    def request_stop(self, reason: str) -> bool:
        """Note a stop request; True if it is the first. The status was stored by whoever asked
        (a cancel is ``cancelling`` already); the executor only announces it."""
        if self.stop_reason is not None:
            return False
        self.stop_reason = reason
        if reason == "cancelled" and self.run is not None:
            self.emit("thread.run.cancelling", dict(run_object(self.run), status="cancelling"))
        return True

    def checkpoint(self) -> tuple[str, str] | None:
        """(message id, text so far) of the reply streaming now, if it grew since the last
        checkpoint; the runtime stores all of a process's in one write (``store.checkpoint_messages``)."""
        turn = self.turn
        if turn is None or not turn.message_open or turn.message is None or turn.saved == len(turn.parts):
            return None
        turn.saved = len(turn.parts)
        return turn.message.id, "".join(turn.parts)

    def prefer_backend(self, backend) -> None:
        """Answer from ``backend``, if the first model turn has not chosen one yet."""
        if self.backend_chosen:
            if backend is not self.backend:
                log.warning("run %s already streams from another backend; %s was asked too late",
                            self.run_id, getattr(backend, "inference_type", backend))
            return
        self.backend = backend

    # -- entry point ----------------------------------------------------------------------
    async def execute(self) -> None:
        self.started = True
        if self.stop_reason is not None:
            await self._stop(self.stop_reason)  # asked to stop before it started
            return
        try:
            await self._execute()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.stop_reason is None:
                raise  # the server is shutting down: the lease expires and the sweeper ends it
            if task is not None:
                task.uncancel()
            await self._stop(self.stop_reason)
        except RunFailed as exc:
            await self._fail(exc.message, exc.code)
        except Exception as exc:  # noqa: BLE001 - a run must end, whatever broke
            log.exception("run %s crashed", self.run_id)
            await self._fail(f"Entities hit an internal error while running this run ({type(exc).__name__}: {exc}). "
                             "The run was stopped; try again, and report it if it persists.")

    async def _execute(self) -> None:
        if self.handed is not None:
            self._begin_owned()
        elif not await self._claim():
            return
        backend, backend_model = self._choose_backend()

        while True:
            # Checked before each model turn after a tool round, so a run continued after the
            # client's outputs (requires_action) counts its earlier rounds and tokens too.
            if self.run.tool_rounds >= settings.ENTITIES_MAX_TOOL_ROUNDS:
                raise RunFailed(
                    f"The model kept calling tools for {self.run.tool_rounds} rounds; the limit is "
                    f"ENTITIES_MAX_TOOL_ROUNDS={settings.ENTITIES_MAX_TOOL_ROUNDS}. The run was stopped.")
            if self.run.tool_rounds and self.usage["total_tokens"] > settings.ENTITIES_MAX_RUN_TOKENS:
                await self._finish("incomplete", incomplete={"reason": "max_completion_tokens"})
                return
            request, self.prepared = self.prepared, None
            if request is None or request.model != backend_model:
                request = await db(build_chat_request, self.run, backend_model=backend_model)
            turn = await self._model_turn(backend, request)
            if turn.calls:
                self.run.tool_rounds += 1  # before a pause too: require_action stores the count
                paused = await self._tool_calls(turn)
                if paused:
                    return
                continue
            if turn.finish == "length":
                await self._finish("incomplete", incomplete={"reason": "max_completion_tokens"})
            else:
                await self._finish("completed")
            return

    def _begin_owned(self) -> None:
        """Start a run this process claimed when it created it (no database trip): announce it
        as created (queued), then in progress."""
        run, self.handed = self.handed, None
        self.stream.rebase(run.event_seq)
        self.run = run
        queued = dict(run_object(run), status="queued", started_at=None)
        self.emit("thread.run.created", queued)
        self.emit("thread.run.queued", queued)
        self.started_at = time.perf_counter()
        self.emit_run("thread.run.in_progress")

    async def _claim(self) -> bool:
        """Load a queued run and claim it; False if it is not ours to execute."""
        run = await db(store.load_run, self.run_id)
        if run is None or run.status != Run.Status.QUEUED:
            return False
        self.stream.rebase(run.event_seq)
        continuation = run.started_at is not None
        self.run = run
        if run.usage:
            self.usage = dict(run.usage)
        if continuation:
            last_step = await db(_last_tool_step, run)
            if last_step is not None:
                self.emit("thread.run.step.completed", last_step)
            self.emit_run("thread.run.queued")
        else:
            self.emit_run("thread.run.created", "thread.run.queued")
        claimed = await db(store.claim_run, self.run_id, owner=self.owner, lease_seconds=settings.ENTITIES_RUN_LEASE_SECONDS)
        if claimed is None:
            current = await db(store.load_run, self.run_id)
            if current is not None and current.status == Run.Status.CANCELLING:
                await self._stop("cancelled")  # cancelled before it started
            elif current is not None and current.is_terminal:
                self.run = current
                self.emit_run(f"thread.run.{current.status}")
            return False
        self.run = claimed
        self.started_at = time.perf_counter()
        self.emit_run("thread.run.in_progress")
        return True

    def _choose_backend(self):
        """(backend, model name to send it): the one asked for, else where the run's model routes."""
        try:
            inference_type, name = resolve_model(self.run.model)
            if self.backend is None:
                self.backend = InferenceFactory.get_inference(inference_type)
        except ValueError as exc:
            raise RunFailed(f"Cannot route model '{self.run.model}': {exc}", "invalid_prompt") from exc
        self.backend_chosen = True
        return self.backend, name

    # -- one model turn ----------------------------------------------------------------
    async def _model_turn(self, backend, request) -> Turn:
        turn = self.turn = Turn()
        loop = asyncio.get_running_loop()
        stall = settings.INFERENCE_READ_TIMEOUT + STALL_GRACE_SECONDS
        error: StreamError | None = None
        events = backend.stream(request).__aiter__()
        clock = time.perf_counter
        try:
            async with asyncio.timeout(stall) as deadline:
                pushed_at = loop.time()
                while True:
                    waiting_since = clock()
                    try:
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        break
                    self.waited += clock() - waiting_since
                    now = loop.time()
                    if now - pushed_at > RESCHEDULE_EVERY_SECONDS:
                        # Moving the deadline re-arms a timer: once a second is enough for a
                        # bound of INFERENCE_READ_TIMEOUT + 5 s, and per event it was measurable.
                        deadline.reschedule(now + stall)
                        pushed_at = now
                    kind = type(event)
                    if kind is TextDelta:
                        if event.text:
                            await self._text(turn, event.text)
                    elif kind is ToolCallDelta:
                        await self._tool_delta(turn, event)
                    elif kind is ReasoningDelta:
                        # Reasoning once the reply or its calls began is not shown (rare; docs/responses.md).
                        if event.text and turn.message is None and turn.step_id is None:
                            self.emit(REASONING_DELTA, turn.reasoning.add(event.text))
                    elif kind is Usage:
                        turn.usage = (event.prompt_tokens, event.completion_tokens, event.reasoning_tokens)
                    elif kind is Finish:
                        turn.finish = event.reason
                    elif kind is StreamError:
                        error = event
                        break
        except TimeoutError as exc:
            await events.aclose()
            raise RunFailed(f"The model server stopped sending for {stall:.0f} s. Check that it is running and not "
                            "overloaded, or raise INFERENCE_READ_TIMEOUT.") from exc
        if error is not None:
            await events.aclose()
        self._add_usage(turn.usage)
        if error is not None:
            raise RunFailed(error.message, error.code if error.code in ("server_error", "rate_limit_exceeded", "invalid_prompt") else "server_error")
        if turn.reasoning.id and turn.message is None and turn.step_id is None:
            await self._open_message(turn)  # it only reasoned (cut short, usually): the reply keeps that
        if turn.message_open:
            await self._close_message(turn, incomplete_reason="max_tokens" if turn.finish == "length" and not turn.calls else None)
        if turn.finish is None and not turn.calls and not turn.parts:
            raise RunFailed("The model server ended the reply without any content or finish reason.")
        return turn

    async def _text(self, turn: Turn, text: str) -> None:
        if turn.message is None:
            if turn.step_id is not None:
                return  # text after tool calls in the same turn: rare; the next turn speaks
            await self._open_message(turn)
        if not turn.message_open:
            return
        turn.parts.append(text)
        self.deltas += 1
        if not self.first_delta_seen and self.started_at is not None:
            self.first_delta_seen = True
            metrics.TIME_TO_FIRST_TOKEN.observe(time.perf_counter() - self.started_at)
        self.emit("thread.message.delta", message_text_delta(turn.message.id, text, first=len(turn.parts) == 1))

    async def _open_message(self, turn: Turn) -> None:
        turn.message = await db(store.create_assistant_message, self.run, **turn.reasoning.message_fields())
        turn.message_open = True
        step, message = message_step_object(self.run, turn.message), message_object(turn.message)
        self.emit("thread.run.step.created", step)
        self.emit("thread.run.step.in_progress", step)
        self.emit("thread.message.created", message)
        self.emit("thread.message.in_progress", message)

    async def _close_message(self, turn: Turn, *, incomplete_reason: str | None = None) -> None:
        turn.message_open = False
        message = await db(store.finish_message, turn.message, "".join(turn.parts), incomplete_reason=incomplete_reason)
        name = "thread.message.incomplete" if incomplete_reason else "thread.message.completed"
        self.emit(name, message_object(message))
        # A cancel, failure or expiry closes the message before the run is stored as ended:
        # the presenter reads the step's ending from the message's incomplete reason.
        step = message_step_object(self.run, message)
        if step["status"] != "in_progress":
            self.emit(f"thread.run.step.{step['status']}", step)

    # -- endings ---------------------------------------------------------------------
    def _add_usage(self, usage: tuple[int, int, int]) -> None:
        prompt, completion, reasoning = usage
        self.usage["prompt_tokens"] += prompt
        self.usage["completion_tokens"] += completion
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]
        if reasoning:  # only then: the usage of a model that does not reason stays as OpenAI's
            before = (self.usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
            self.usage["completion_tokens_details"] = {"reasoning_tokens": before + reasoning}


def _last_tool_step(run: Run) -> dict | None:
    last = Action.objects.filter(run=run).order_by("-created_at").first()
    if last is None:
        return None
    return tool_step_object(run, last.step_id, list(Action.objects.filter(run=run, step_id=last.step_id).order_by("index")))

