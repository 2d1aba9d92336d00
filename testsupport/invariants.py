"""What must hold in the store after anything (a fault, a soak, a fuzz session): nothing stuck,
nothing lost, nothing doubled.

    assert_store_consistent()          # waits (bounded) for every run to end, then checks
    problems = store_violations()      # the same checks, as a list of sentences (bench/soak.py)

The checks read the database only, so they hold whichever process ran the runs.
"""

from __future__ import annotations

import time
from collections import Counter

from conversations.models import ACTIVE_RUN_STATUSES, Action, Message, Run

# Every terminal run carries usage: the engine's count, or zeros when the sweeper ended a run
# whose owner died with the count in its memory.
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _runs(owners):
    runs = Run.objects.all()
    return runs.filter(owner__in=owners) if owners is not None else runs


def wait_for_terminal_runs(*, timeout: float = 15.0, owners=None, allow_requires_action: bool = False) -> list[Run]:
    """Poll until no run is active (queued, in_progress, cancelling, requires_action).

    Returns the runs still active after ``timeout`` seconds (empty when all ended).
    """
    waiting = set(ACTIVE_RUN_STATUSES) - ({"requires_action"} if allow_requires_action else set())
    deadline = time.monotonic() + timeout
    while True:
        active = list(_runs(owners).filter(status__in=waiting))
        if not active or time.monotonic() > deadline:
            return active
        time.sleep(0.05)


def _run_violations(run: Run, messages: list[Message], actions: list[Action], allow_requires_action: bool) -> list[str]:
    problems: list[str] = []
    name = f"run {run.id} ({run.status})"
    if run.status == Run.Status.REQUIRES_ACTION:
        pending = {a.id for a in actions if a.status == Action.Status.PENDING and a.client_side}
        asked = {c["id"] for c in ((run.required_action or {}).get("submit_tool_outputs") or {}).get("tool_calls", [])}
        if not allow_requires_action:
            problems.append(f"{name} is still waiting for tool outputs")
        if not asked or asked != pending:
            problems.append(f"{name} asks for {sorted(asked)} but its pending client actions are {sorted(pending)}")
        return problems
    if not run.is_terminal:
        return [f"{name} never reached a terminal status"]
    if run.lease_owner or run.lease_expires_at is not None:
        problems.append(f"{name} still holds a lease ({run.lease_owner!r})")
    if run.required_action is not None:
        problems.append(f"{name} still has a required_action")
    if run.status == Run.Status.FAILED:
        error = run.last_error or {}
        if not (isinstance(error, dict) and error.get("code") and str(error.get("message") or "").strip()):
            problems.append(f"{name} has no clear last_error: {run.last_error!r}")
        if run.failed_at is None:
            problems.append(f"{name} has no failed_at")
    if run.status == Run.Status.COMPLETED:
        if run.completed_at is None:
            problems.append(f"{name} has no completed_at")
        if not any(m.status == Message.Status.COMPLETED for m in messages):
            problems.append(f"{name} has no completed assistant message")
    if run.status == Run.Status.CANCELLED and run.cancelled_at is None:
        problems.append(f"{name} has no cancelled_at")
    still_writing = [m.id for m in messages if m.status == Message.Status.IN_PROGRESS]
    if still_writing:
        problems.append(f"{name} has assistant messages still in progress: {still_writing}")
    pending = [a.id for a in actions if a.status == Action.Status.PENDING]
    if pending:
        problems.append(f"{name} has orphan pending actions: {pending}")
    if run.started_at is not None:
        usage = run.usage
        if not (isinstance(usage, dict) and all(isinstance(usage.get(k), int) for k in USAGE_KEYS)):
            problems.append(f"{name} reached the model but has no usage: {usage!r}")
        elif usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]:
            problems.append(f"{name} has inconsistent usage: {usage!r}")
    return problems


def store_violations(*, owners=None, allow_requires_action: bool = False, unique_user_texts: bool = False) -> list[str]:
    """Every broken invariant, as a sentence; empty when the store is consistent.

    - every run is terminal (or, with ``allow_requires_action``, paused with matching pending actions);
    - terminal runs hold no lease, no required_action, no pending action, no message in progress;
    - failed runs carry a last_error with a code and a message; completed runs a completed message;
    - runs that reached the model carry usage (prompt + completion = total);
    - no run has two assistant messages with the same text, and no message belongs to a run of
      another thread (retries never doubled a reply);
    - with ``unique_user_texts`` (callers that never send the same text twice): no user text twice.
    """
    problems: list[str] = []
    runs = list(_runs(owners).order_by("created_at"))
    run_ids = [r.id for r in runs]
    messages: dict[str, list[Message]] = {}
    for message in Message.objects.filter(run_id__in=run_ids, role=Message.Role.ASSISTANT):
        messages.setdefault(message.run_id, []).append(message)
    actions: dict[str, list[Action]] = {}
    for action in Action.objects.filter(run_id__in=run_ids):
        actions.setdefault(action.run_id, []).append(action)
    for run in runs:
        own = messages.get(run.id, [])
        problems += _run_violations(run, own, actions.get(run.id, []), allow_requires_action)
        foreign = [m.id for m in own if m.thread_id != run.thread_id]
        if foreign:
            problems.append(f"run {run.id} wrote messages into another thread: {foreign}")
        texts = Counter(m.text() for m in own if m.text())
        doubled = [t[:40] for t, n in texts.items() if n > 1]
        if doubled:
            problems.append(f"run {run.id} has the same assistant text twice: {doubled}")
    if unique_user_texts:
        users = Message.objects.filter(role=Message.Role.USER)
        if owners is not None:
            users = users.filter(owner__in=owners)
        texts = Counter((m.thread_id, m.text()) for m in users)
        doubled = [f"{thread}: {text[:40]!r}" for (thread, text), n in texts.items() if n > 1]
        if doubled:
            problems.append(f"user messages stored twice (a retried request?): {doubled}")
    return problems


def assert_store_consistent(*, timeout: float = 15.0, owners=None, allow_requires_action: bool = False,
                            unique_user_texts: bool = True) -> dict[str, int]:
    """Wait (at most ``timeout`` s) for every run to end, then assert ``store_violations()`` is empty.

    Returns the number of runs by status, for the caller's own assertions.
    """
    wait_for_terminal_runs(timeout=timeout, owners=owners, allow_requires_action=allow_requires_action)
    problems = store_violations(owners=owners, allow_requires_action=allow_requires_action,
                                unique_user_texts=unique_user_texts)
    assert not problems, "the store is inconsistent:\n- " + "\n- ".join(problems)
    return dict(Counter(_runs(owners).values_list("status", flat=True)))


def assert_user_messages_intact(thread_id: str, texts: list[str]) -> None:
    """The thread holds exactly these user texts, in this order, each once."""
    stored = [m.text() for m in Message.objects.filter(thread_id=thread_id, role=Message.Role.USER)
              .order_by("created_at", "id")]
    assert stored == texts, f"user messages of {thread_id}: {stored!r}, expected {texts!r}"
