"""Chat turns, as the browser, the WebSocket and the seed route start them."""

from __future__ import annotations

from django.db import transaction

from assistants.models import Assistant
from conversations.models import Message, Run, Thread
from conversations.services.branches import (branch_check_idle, branch_lock, branch_supersede_from,
                                           branch_version_select)
from conversations.services.content import content_from_text
from conversations.services.messages import message_create
from conversations.services.runs import run_create
from kernel.errors import InvalidRequest, NotFound, RunStateConflict

MAX_CHAT_TEXT = 256_000


def chat_turn_start(*, thread: Thread, assistant: Assistant, text: str, model: str | None = None,
                    file_ids: list | None = None) -> tuple[Message, Run]:
    """Add the user's message and start a run for the reply, in one transaction.

    ``file_ids`` (the chat page's attachments, already uploaded): images become
    ``image_file`` parts, other files code-interpreter attachments.
    """
    from conversations.services.chat_files import chat_file_parts

    images, attachments = chat_file_parts(owner_id=thread.owner_id, file_ids=file_ids)
    if not isinstance(text, str) or (not text.strip() and not images):
        raise InvalidRequest("The message is empty.", param="content")
    if len(text) > MAX_CHAT_TEXT:
        raise InvalidRequest(f"The message is longer than {MAX_CHAT_TEXT} characters.", param="content")
    with transaction.atomic():
        content = (content_from_text(text) if text.strip() else []) + images
        message = message_create(thread=thread, role="user", content=content, attachments=attachments)
        run = run_create(thread=thread, assistant=assistant, options={"model": model} if model else {})
    return message, run


def chat_regenerate(*, thread: Thread, assistant: Assistant, model: str | None = None) -> Run:
    """Answer the last user message again. The earlier answer stays as a version of the reply
    (superseded: off the active branch, so the model and the API no longer see it)."""
    with transaction.atomic():
        branch_lock(thread=thread)
        last_user = Message.objects.filter(thread=thread, role="user").order_by("-created_at", "-id").first()
        if last_user is None:
            raise RunStateConflict("There is no user message to answer.", param="thread_id")
        branch_check_idle(thread=thread)
        branch_supersede_from(thread=thread, message=last_user, inclusive=False)
        return run_create(thread=thread, assistant=assistant, options={"model": model} if model else {})


def chat_edit(*, thread: Thread, assistant: Assistant, message_id: str, text: str,
              model: str | None = None) -> tuple[Message, Run]:
    """Edit a sent user message and resend it: a new version of that message (same place in
    the conversation), answered by a new run. The old version and everything after it stay
    as the other branch (superseded)."""
    if not isinstance(message_id, str) or not message_id:
        raise InvalidRequest("'message_id' is required.", param="message_id")
    with transaction.atomic():
        branch_lock(thread=thread)
        original = Message.objects.filter(thread=thread, pk=message_id, role="user").first()
        if original is None:
            raise NotFound(f"No user message '{message_id[:80]}' on this thread's active branch.", param="message_id")
        branch_check_idle(thread=thread)
        branch_supersede_from(thread=thread, message=original, inclusive=True)
        # The new version follows the active leaf (message_create): what the original followed.
        return chat_turn_start(thread=thread, assistant=assistant, text=text, model=model)


def chat_version_select(*, thread: Thread, version_id: str) -> None:
    """The chat page's version switch (``branch_version_select``): one branch change at a
    time, never while a run is active."""
    if not isinstance(version_id, str) or not version_id:
        raise InvalidRequest("'version' is required.", param="version")
    with transaction.atomic():
        branch_lock(thread=thread)
        branch_check_idle(thread=thread)
        branch_version_select(thread=thread, version_id=version_id)
