"""A run's latest segment rebuilt from stored state, as the live stream sent it.

When no event log is left (the process that ran the run kept it for a while, or never
ran it), a watcher still gets the same ``RunEvent``s a live watcher got: the same names in
the same order, the same objects. Storage keeps no per-token state, so the two differ in
one way only: each message's text (and the reasoning before a step) comes as one delta,
and each tool call is announced with its whole arguments.

Numbering follows the live rules. The segment's first events (up to its first delta) and
its closing events (after its last delta) carry exactly the seqs the live stream gave
them: the first count up from 1, the closing ones end at ``run.event_seq``, the seq the
engine stored with the ending. The condensed deltas (and, in a segment of several steps,
the steps between) sit just below the closing events. ``Replay.after(seq)`` is what a
client that saw ``seq`` still needs; a position inside the condensed stretch, where the
client's text cannot be split off the stored text, resumes at the closing events, whose
objects are complete (the message's ``completed`` carries its whole text).
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.engine.events import (
    REASONING_DELTA, RunEvent, message_text_delta, reasoning_delta, step_tool_call_delta,
)
from conversations.engine.reasoning import reasoning_sibling
from conversations.engine.tool_steps import tool_call_opening, tool_call_result
from conversations.models import Action, Message, Run
from conversations.presenters import (
    message_object, message_step_object, new_tool_step_object, run_object, tool_step_object,
)
from kernel.timestamps import unix

_OPEN_STEP = {"status": "in_progress", "completed_at": None, "cancelled_at": None, "failed_at": None,
              "expired_at": None, "last_error": None}
_OPEN_MESSAGE = {"status": "in_progress", "content": [], "completed_at": None, "incomplete_at": None,
                 "incomplete_details": None}


@dataclass(frozen=True, slots=True)
class Replay:
    """The segment's events; those with seq <= ``exact_until`` or >= ``exact_from`` are
    numbered as live, the others (condensed) are for a client that saw none of them."""

    events: tuple[RunEvent, ...]
    exact_until: int
    exact_from: int

    def after(self, seq: int) -> list[RunEvent]:
        """What a client that saw the segment up to ``seq`` still needs, never nothing: a
        client that saw it all gets the final event again (the outcome)."""
        final = self.events[-1]
        if seq >= final.seq:
            return [final]
        missed = [e for e in self.events if e.seq > seq and (seq <= self.exact_until or e.seq >= self.exact_from)]
        return missed or [final]


def load_replay(run_id: str) -> tuple[Run | None, Replay | None]:
    """The stored run and, once its segment ended (terminal or requires_action), its replay."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None or not (run.is_terminal or run.status == Run.Status.REQUIRES_ACTION):
        return run, None
    messages = list(Message.objects.filter(run_id=run_id, role=Message.Role.ASSISTANT).order_by("created_at", "id"))
    actions = list(Action.objects.filter(run_id=run_id).order_by("created_at", "index"))
    return run, replay_segment(run, messages, actions)


def replay_segment(run: Run, messages: list[Message], actions: list[Action]) -> Replay:
    """The latest segment of ``run`` (terminal or paused) as ``RunEvent``s."""
    steps = _steps(messages, actions)
    clients = [i for i, (kind, item) in enumerate(steps) if kind == "tools" and any(a.client_side for a in item)]
    waiting = bool(clients) and clients[-1] == len(steps) - 1 and not _answered(steps[-1][1])
    # A run cancelled while it ran announced `cancelling` first; one cancelled while it
    # waited (queued, or for tool outputs) ended at once.
    builder = _Builder(run, announces_cancelling=run.status == Run.Status.CANCELLED and run.started_at is not None
                       and not waiting)
    # The segment opens after the last client step that got its outputs; one still unanswered
    # (the run paused on it, or ended while paused) belongs to this segment.
    opened_after = clients[-2] if waiting and len(clients) > 1 else (clients[-1] if clients and not waiting else None)
    continuation = opened_after is not None
    if continuation:
        group = steps[opened_after][1]
        builder.add("thread.run.step.completed", tool_step_object(run, group[0].step_id, group,
                                                                    include_content=bool(run.include)))
        builder.add("thread.run.queued", builder.run_as("queued"))
    else:
        builder.add("thread.run.created", builder.run_as("queued", started=False))
        builder.add("thread.run.queued", builder.run_as("queued", started=False))
    if run.started_at is not None:
        builder.add("thread.run.in_progress", builder.run_as("in_progress"))
    for kind, item in steps[(opened_after + 1) if continuation else 0:]:
        if kind == "message":
            builder.message(item)
        else:
            builder.tools(item, paused=item is steps[-1][1] and waiting)
    if run.status == Run.Status.REQUIRES_ACTION:
        builder.add("thread.run.requires_action", builder.final)
    else:
        builder.cancelling_once()
        builder.add(f"thread.run.{run.status}", builder.final)
    return builder.number(run.event_seq, continuation=continuation)


def _steps(messages: list[Message], actions: list[Action]) -> list[tuple[str, object]]:
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.step_id, []).append(action)
    # A turn's message is closed before its tool calls are stored: on a tie, the message first.
    keyed = [((m.created_at, 0), ("message", m)) for m in messages]
    keyed += [((g[0].created_at, 1), ("tools", sorted(g, key=lambda a: a.index))) for g in groups.values()]
    return [step for _, step in sorted(keyed, key=lambda pair: pair[0])]


def _answered(actions: list[Action]) -> bool:
    return all(a.status == Action.Status.COMPLETED for a in actions if a.client_side)


class _Builder:
    def __init__(self, run: Run, *, announces_cancelling: bool) -> None:
        self.run = run
        self.final = run_object(run)
        self.items: list[tuple[str, dict]] = []
        self.first_delta: int | None = None
        self.last_delta: int | None = None
        self.cancelling_sent = not announces_cancelling

    def add(self, name: str, data: dict, *, delta: bool = False) -> None:
        if delta:
            if self.first_delta is None:
                self.first_delta = len(self.items)
            self.last_delta = len(self.items)
        self.items.append((name, data))

    def run_as(self, status: str, *, started: bool = True) -> dict:
        """The run object as an earlier, non-final event showed it."""
        return dict(self.final, status=status, required_action=None, last_error=None, cancelled_at=None,
                    failed_at=None, completed_at=None, incomplete_details=None, usage=None,
                    expires_at=unix(self.run.expires_at), started_at=self.final["started_at"] if started else None)

    def cancelling_once(self) -> None:
        # A run cancelled while it ran announced `cancelling` before it closed anything.
        if not self.cancelling_sent:
            self.cancelling_sent = True
            self.add("thread.run.cancelling", self.run_as("cancelling"))

    def reasoning(self, step_id: str, text: str) -> None:
        """The reasoning that came before a step, as one delta (engine/reasoning.py)."""
        if text:
            self.add(REASONING_DELTA, reasoning_delta(reasoning_sibling(step_id, "rs"), text), delta=True)

    def message(self, message: Message) -> None:
        step, payload = message_step_object(self.run, message), message_object(message)
        opened_step, opened = dict(step, **_OPEN_STEP), dict(payload, **_OPEN_MESSAGE)
        self.reasoning(message.id, message.reasoning)
        self.add("thread.run.step.created", opened_step)
        self.add("thread.run.step.in_progress", opened_step)
        self.add("thread.message.created", opened)
        self.add("thread.message.in_progress", opened)
        text = message.text()
        if text:
            self.add("thread.message.delta", message_text_delta(message.id, text, first=True), delta=True)
        if message.status == Message.Status.IN_PROGRESS:
            return
        if (message.incomplete_details or {}).get("reason") == "run_cancelled":
            self.cancelling_once()
        self.add(f"thread.message.{message.status}", payload)
        if step["status"] != "in_progress":
            self.add(f"thread.run.step.{step['status']}", step)

    def tools(self, actions: list[Action], *, paused: bool) -> None:
        step_id = actions[0].step_id
        opened = new_tool_step_object(self.run, step_id, actions[0].created_at)
        self.reasoning(step_id, actions[0].reasoning)
        self.add("thread.run.step.created", opened)
        self.add("thread.run.step.in_progress", opened)
        for position, action in enumerate(actions):
            call = tool_call_opening(action.id, action.tool_type, action.function_name, action.arguments)
            self.add("thread.run.step.delta", step_tool_call_delta(step_id, position, call), delta=True)
        for position, action in enumerate(actions):
            if action.client_side or action.status == Action.Status.PENDING or action.completed_at is None:
                continue
            result = tool_call_result(action, include_content=bool(self.run.include))
            self.add("thread.run.step.delta", step_tool_call_delta(step_id, position, result), delta=True)
        step = tool_step_object(self.run, step_id, actions, include_content=bool(self.run.include))
        if not paused and step["status"] == "completed":
            self.add("thread.run.step.completed", step)

    def number(self, end_seq: int, *, continuation: bool) -> Replay:
        items, count = self.items, len(self.items)
        if self.first_delta is None:
            body_start = body_end = count - 1  # no deltas: everything but the final event is the head
        else:
            body_start, body_end = self.first_delta, self.last_delta + 1
        tail = count - body_end
        if end_seq >= count:
            # The live stream had at least as many events (condensing only removes deltas), so
            # the head counts from 1 and the rest ends at the stored seq. A continuation's
            # first seq was not stored: all of it counts back from the end.
            head = 0 if continuation else body_start
            seqs = list(range(1, head + 1)) + list(range(end_seq - (count - head) + 1, end_seq + 1))
            exact_until = head
            exact_from = end_seq - tail + 1
        else:
            # The stored seq does not cover the segment (it ended outside the engine, e.g. by
            # the sweeper after its owner died): count from 1; only the head is known.
            seqs = list(range(1, count + 1))
            exact_until = 0 if continuation else body_start
            exact_from = count + 1
        events = tuple(RunEvent(seq, name, data) for seq, (name, data) in zip(seqs, items))
        return Replay(events, exact_until, exact_from)
