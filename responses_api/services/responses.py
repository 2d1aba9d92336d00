"""Writes on responses: create (a run, or the next segment of a paused one), cancel, delete.

A response is a run on a thread: a new thread for a lone response, the conversation's
thread, or the thread of ``previous_response_id`` (a fork of it when the chain branches).
Every run goes through ``conversations.services.runs``; nothing here executes anything.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from conversations.models import ACTIVE_RUN_STATUSES, Action, Message, Run, Thread
from conversations.services.content import content_text, title_from_text
from conversations.services.runs import run_cancel, run_create, run_submit_tool_outputs
from conversations.services.threads import thread_create
from kernel.errors import InvalidRequest, NotFound, RunStateConflict
from responses_api.input_files import resolve as resolve_files
from responses_api.input_files import show_files
from responses_api.models import Response
from responses_api.presenters import function_output_item, message_item
from responses_api.selectors import conversation_get_for_user, paused_run, response_get_for_user
from responses_api.services.unstored import responses_forget_ended


def _fork(thread: Thread, upto: Response) -> Thread:
    """A new thread holding ``thread``'s messages up to the end of ``upto``: a branch of the chain."""
    last = Message.objects.filter(run=upto.run).order_by("-created_at").values_list("created_at", flat=True).first()
    cutoff = last or upto.created_at
    fork = Thread.objects.create(owner_id=thread.owner_id, title=thread.title, metadata={})
    now = timezone.now()
    Message.objects.bulk_create([
        Message(owner_id=thread.owner_id, thread=fork, role=m.role, content=m.content, status=m.status,
                attachments=m.attachments, created_at=now + timedelta(microseconds=i))
        for i, m in enumerate(Message.objects.filter(thread=thread, created_at__lte=cutoff).order_by("created_at", "id"))
    ])
    return fork


def _paused_run_answered(*, user, outputs: list[dict]) -> Run | None:
    """The paused run whose pending calls ``outputs`` answer, for a client that sends the whole
    history back (input = earlier input + response.output + function_call_output items, as
    OpenAI's function-calling guide does) instead of naming ``previous_response_id``."""
    if not outputs:
        return None
    action = (Action.objects.select_related("run").filter(pk=outputs[0]["tool_call_id"], owner=user,
                                                          client_side=True, status=Action.Status.PENDING).first())
    if action is None or action.run.status != Run.Status.REQUIRES_ACTION:
        return None
    return action.run


def _thread_for(*, user, spec: dict) -> tuple[Thread, bool]:
    """(thread, in_conversation) for a new response."""
    if spec["conversation"]:
        return conversation_get_for_user(user=user, conversation_id=spec["conversation"], param="conversation"), True
    if spec["previous_response_id"]:
        previous = response_get_for_user(user=user, response_id=spec["previous_response_id"],
                                         param="previous_response_id")
        thread = previous.run.thread
        latest = Run.objects.filter(thread=thread).order_by("-created_at", "-id").values_list("pk", flat=True).first()
        later = Response.objects.filter(run=previous.run, created_at__gt=previous.created_at).exists()
        if latest == previous.run_id and not later:
            return thread, previous.in_conversation
        return _fork(thread, previous), False
    replayed = _paused_run_answered(user=user, outputs=spec["input"]["outputs"])
    if replayed is not None:
        return replayed.thread, False
    first = next((m for m in spec["input"]["messages"] if m["role"] == "user"), None)
    thread = thread_create(user=user)
    if first is not None:
        Thread.objects.filter(pk=thread.pk).update(title=title_from_text(content_text(first["content"])))
    return thread, False


def _check_stores(*, user, tools: list[dict]) -> None:
    """Each ``file_search`` tool's vector stores are the user's (another user's reads as unknown)."""
    from retrieval.selectors import store_ids_usable

    for i, tool in enumerate(tools):
        ids = tool.get("vector_store_ids") or [] if tool.get("type") == "file_search" else []
        usable = store_ids_usable(user=user, store_ids=ids) if ids else set()
        for j, store_id in enumerate(ids):
            if store_id not in usable:
                raise NotFound(f"Vector store with id '{store_id}' not found.", param=f"tools[{i}].vector_store_ids[{j}]")


def _continue(*, run: Run, spec: dict, replayed: bool) -> tuple[Run, int, list[dict]]:
    """Hand the client's function outputs to the paused run: the new response is its next segment.

    ``replayed``: the input repeats the history the run already holds; only the outputs count."""
    if spec["input"]["messages"] and not replayed:
        raise InvalidRequest("This response continues function calls: send only their function_call_output items "
                             "(Entities adds messages once the calls are answered).", param="input")
    start_seq = run.event_seq
    run = run_submit_tool_outputs(run=run, tool_outputs=spec["input"]["outputs"])
    items = [function_output_item(a) for a in run.actions.filter(pk__in=[o["tool_call_id"]
                                                                          for o in spec["input"]["outputs"]])]
    return run, start_seq, items


@transaction.atomic
def response_create(*, user, spec: dict) -> Response:
    """Create the response described by ``spec`` (validation.response_create) and queue its run."""
    if not spec["store"]:
        responses_forget_ended(user=user)
    _check_stores(user=user, tools=spec["options"].get("tools") or [])
    thread, in_conversation = _thread_for(user=user, spec=spec)
    paused = paused_run(thread)
    outputs = spec["input"]["outputs"]
    if paused is not None:
        pending = list(paused.actions.filter(status="pending", client_side=True).values_list("pk", flat=True))
        if not outputs:
            raise InvalidRequest(f"No tool output found for function call {pending[0] if pending else '?'}.",
                                 param="input")
        replayed = not spec["conversation"] and not spec["previous_response_id"]
        run, start_seq, input_items = _continue(run=paused, spec=spec, replayed=replayed)
    else:
        if outputs:
            raise InvalidRequest(f"No function call found with call_id '{outputs[0]['tool_call_id']}' waiting for "
                                 "an output in this chain.", param="input")
        if not spec["options"].get("model"):
            raise InvalidRequest("Missing required parameter: 'model'.", param="model",
                                 code="missing_required_parameter")
        if not spec["input"]["messages"] and not Message.objects.filter(thread=thread).exists():
            raise InvalidRequest("Missing required parameter: 'input'.", param="input",
                                 code="missing_required_parameter")
        files = resolve_files(user=user, messages=spec["input"]["messages"])
        created_before = timezone.now()
        run = run_create(thread=thread, assistant=None,
                         options={**spec["options"], "additional_messages": spec["input"]["messages"]})
        start_seq = 0
        added = Message.objects.filter(thread=thread, run__isnull=True, created_at__gte=created_before)
        input_items = show_files([message_item(m) for m in added.order_by("created_at", "id")], files)
    return Response.objects.create(
        owner=user, run=run, start_seq=start_seq, in_conversation=in_conversation,
        previous_response_id=spec["previous_response_id"], background=spec["background"], store=spec["store"],
        input_items=input_items, extras=spec["extras"],
    )


def response_cancel(*, response: Response) -> Response:
    """Stop a background response (OpenAI cancels only those)."""
    if not response.background:
        raise InvalidRequest("Only responses created with background=true can be cancelled.", param="response_id")
    run = response.run
    run.refresh_from_db()
    if run.status in ACTIVE_RUN_STATUSES and run.status != Run.Status.CANCELLING:
        try:
            run_cancel(run=run)
        except RunStateConflict:
            pass  # it ended meanwhile: cancelling an ended response answers it as it is
    return response


def response_delete(*, response: Response) -> None:
    """Delete the response; a run still going is stopped first (its conversation items stay)."""
    run = response.run
    run.refresh_from_db()
    if run.status in ACTIVE_RUN_STATUSES and run.status != Run.Status.CANCELLING:
        try:
            run_cancel(run=run)
        except RunStateConflict:
            pass
    response.delete()
