"""Writes on runs: create, cancel, submit tool outputs, modify.

The engine executes runs; these functions only change stored state and, after commit,
tell the engine (``conversations.engine.hooks``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assistants.models import Assistant
from conversations.branches import run_parent_message_id
from conversations.engine import state
from conversations.engine.hooks import run_cancel_requested, run_created, run_owner, run_queued
from conversations.models import ACTIVE_RUN_STATUSES, Action, Message, Run, Thread
from conversations.services.attachments import thread_attach_files
from conversations.services.threads import thread_create
from kernel.errors import InvalidRequest, LimitExceeded, RunStateConflict

DEFAULT_TRUNCATION = {"type": "auto", "last_messages": None}
# A queued run belongs to the process that queued it for this long; then any process adopts it.
QUEUED_GRACE_SECONDS = 5

# Options a run may override; anything not given comes from the assistant.
RUN_OPTION_FIELDS = (
    "model", "instructions", "additional_instructions", "tools", "metadata", "temperature", "top_p",
    "max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "tool_choice",
    "parallel_tool_calls", "response_format", "reasoning_effort",
)


def _check_user_limit(user_id: int) -> None:
    """Call inside the transaction that creates the run. The user's row is locked first, so
    concurrent creates by one user count one after the other (on PostgreSQL they would all
    count the same rows and pass together; SQLite's IMMEDIATE transactions already serialise)."""
    limit = settings.ENTITIES_MAX_ACTIVE_RUNS_PER_USER
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()
    if Run.objects.filter(owner_id=user_id, status__in=ACTIVE_RUN_STATUSES).count() >= limit:
        raise LimitExceeded(f"You already have {limit} active runs; wait for one to finish or cancel one.")


def _new_run(*, thread: Thread, assistant: Assistant | None, options: dict) -> tuple[Run, Run]:
    """(the run as created, the run as stored): claimed at birth by this process's engine
    (``state.create_claimed``), or queued for any process to adopt while this one drains."""
    unknown = set(options) - set(RUN_OPTION_FIELDS) - {"additional_messages", "include", "max_tool_calls"}
    if unknown:
        raise TypeError(f"unknown run options: {sorted(unknown)}")

    def pick(name, fallback):
        value = options.get(name)
        return fallback if value is None else value

    now = timezone.now()
    instructions = options.get("instructions")
    if assistant is None:
        # A run without an assistant (the Responses API): every option comes with the run.
        assistant = Assistant(id="", model=options.get("model") or "", instructions="", tools=[])
    fields = dict(
        owner_id=thread.owner_id, thread=thread, assistant_id=assistant.id, created_at=now,
        parent_message_id=run_parent_message_id(thread_id=thread.pk),
        lease_expires_at=now + timedelta(seconds=QUEUED_GRACE_SECONDS),
        expires_at=now + timedelta(seconds=settings.ENTITIES_RUN_EXPIRES_SECONDS),
        model=pick("model", assistant.model),
        instructions=instructions if instructions is not None else (assistant.instructions or ""),
        additional_instructions=options.get("additional_instructions"),
        tools=pick("tools", assistant.tools or []),
        metadata=options.get("metadata") or {},
        include=list(options.get("include") or []),
        max_tool_calls=options.get("max_tool_calls"),
        temperature=pick("temperature", assistant.temperature),
        top_p=pick("top_p", assistant.top_p),
        max_prompt_tokens=options.get("max_prompt_tokens"),
        max_completion_tokens=options.get("max_completion_tokens"),
        truncation_strategy=pick("truncation_strategy", DEFAULT_TRUNCATION),
        tool_choice=pick("tool_choice", "auto"),
        parallel_tool_calls=pick("parallel_tool_calls", True),
        response_format=pick("response_format", assistant.response_format or "auto"),
        reasoning_effort=pick("reasoning_effort", assistant.reasoning_effort),
    )
    owner = run_owner()
    if owner is None:
        run = Run.objects.create(**fields)
        return run, run
    return state.create_claimed(owner=owner, lease_seconds=settings.ENTITIES_RUN_LEASE_SECONDS, **fields)


def _add_messages(thread: Thread, messages: list[dict]) -> None:
    from files.references import check_references, messages_refs

    check_references(owner_id=thread.owner_id, refs=messages_refs(messages, "additional_messages"))
    now = timezone.now()
    Message.objects.bulk_create([
        Message(owner_id=thread.owner_id, thread=thread, role=m["role"], content=m["content"],
                attachments=m.get("attachments") or [], metadata=m.get("metadata") or {},
                created_at=now + timedelta(microseconds=i))
        for i, m in enumerate(messages)
    ])
    thread_attach_files(thread=thread, attachments=[a for m in messages for a in m.get("attachments") or []])


def run_create(*, thread: Thread, assistant: Assistant | None, options: dict | None = None) -> Run:
    """Create a queued run on ``thread`` and hand it to the engine once committed.

    The run is stored already claimed by this process's engine (in_progress under its lease,
    ``state.create_claimed``); what this returns, and the API answers, is the run as created:
    queued. The engine gets the stored run and starts on it without reading it back.

    ``assistant`` None: a run whose model, instructions and tools all come in ``options``.

    Only one active run per thread (a second gets 400, as OpenAI answered) and at most
    ENTITIES_MAX_ACTIVE_RUNS_PER_USER active runs per user (429).
    """
    options = dict(options or {})
    with transaction.atomic():
        locked = Thread.objects.select_for_update().get(pk=thread.pk)
        active = Run.objects.filter(thread=locked, status__in=ACTIVE_RUN_STATUSES).values_list("pk", flat=True).first()
        if active:
            raise RunStateConflict(f"Thread {thread.id} already has an active run {active}.", param="thread_id",
                                   code="thread_locked")
        _check_user_limit(thread.owner_id)
        extra = options.pop("additional_messages", None) or []
        if extra:
            _add_messages(locked, extra)
        run, stored = _new_run(thread=locked, assistant=assistant, options=options)
        Thread.objects.filter(pk=locked.pk).update(updated_at=run.created_at)
        transaction.on_commit(lambda: run_created(stored))
    return run


def thread_and_run_create(*, user, assistant: Assistant, thread_data: dict | None = None,
                          options: dict | None = None) -> tuple[Thread, Run]:
    """createThreadAndRun: a new thread (with its messages) and a run on it, in one transaction."""
    thread_data = thread_data or {}
    with transaction.atomic():
        _check_user_limit(user.pk)
        thread = thread_create(user=user, messages=thread_data.get("messages"), metadata=thread_data.get("metadata"),
                               tool_resources=thread_data.get("tool_resources"), param_prefix="thread.")
        run = run_create(thread=thread, assistant=assistant, options=options)
    return thread, run


def run_update(*, run: Run, metadata: dict | None) -> Run:
    run.metadata = metadata or {}
    run.save(update_fields=["metadata"])
    return run


def run_cancel(*, run: Run) -> Run:
    """Ask a run to stop. Runs waiting (queued, requires_action) stop at once; a running
    one goes to ``cancelling`` and the engine that owns it finishes the job."""
    with transaction.atomic():
        current = Run.objects.select_for_update().get(pk=run.pk)
        if current.status == Run.Status.REQUIRES_ACTION:
            # Nobody executes a paused run: it ends here, pending tool calls with it.
            ended = state.end_run(current.pk, Run.Status.CANCELLED, only_from={Run.Status.REQUIRES_ACTION})
        else:
            ended = current if state.request_cancel(current.pk) else None
        if ended is None:
            raise RunStateConflict(f"Cannot cancel run with status '{current.status}'.", param="run_id",
                                   code="run_not_cancellable")
        current.refresh_from_db()
        transaction.on_commit(lambda: run_cancel_requested(run.id))
    return current


def run_submit_tool_outputs(*, run: Run, tool_outputs: list[dict]) -> Run:
    """Record the client's outputs for every pending call, all in one request, and continue."""
    now = timezone.now()
    with transaction.atomic():
        current = Run.objects.select_for_update().get(pk=run.pk)
        if current.status != Run.Status.REQUIRES_ACTION or not current.required_action:
            raise RunStateConflict(
                f"Runs in status '{current.status}' do not accept tool outputs.", param="run_id", code="invalid_run_state")
        pending = {a.id: a for a in Action.objects.filter(run=current, status=Action.Status.PENDING, client_side=True)}
        seen: set[str] = set()
        for i, item in enumerate(tool_outputs):
            call_id = item["tool_call_id"]
            if call_id in seen:
                raise InvalidRequest(f"Duplicate tool_call_id '{call_id}'.", param=f"tool_outputs[{i}].tool_call_id")
            if call_id not in pending:
                raise InvalidRequest(f"No pending tool call '{call_id}' on this run.", param=f"tool_outputs[{i}].tool_call_id")
            seen.add(call_id)
        missing = sorted(set(pending) - seen)
        if missing:
            raise InvalidRequest(f"Missing outputs for tool calls: {', '.join(missing)}. All outputs must be submitted "
                                 "in a single request.", param="tool_outputs")
        for item in tool_outputs:
            action = pending[item["tool_call_id"]]
            action.output, action.status, action.completed_at = item.get("output") or "", Action.Status.COMPLETED, now
            action.save(update_fields=["output", "status", "completed_at"])
        state.resume(current.pk, lease_seconds=QUEUED_GRACE_SECONDS)
        current.refresh_from_db()
        transaction.on_commit(lambda: run_queued(run.id))
    return current
