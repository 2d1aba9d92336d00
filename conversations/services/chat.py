"""Chat turns, as the browser, the WebSocket and the seed route start them."""

from __future__ import annotations

from django.db import transaction

from assistants.models import Assistant
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
from conversations.services.content import content_from_text
from conversations.services.messages import message_create
from conversations.services.runs import run_create
from kernel.errors import InvalidRequest, RunStateConflict

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
    """Drop the assistant's messages after the last user message, then reply again."""
    with transaction.atomic():
        last_user = Message.objects.filter(thread=thread, role="user").order_by("-created_at", "-id").first()
        if last_user is None:
            raise RunStateConflict("There is no user message to answer.", param="thread_id")
        if Run.objects.filter(thread=thread, status__in=ACTIVE_RUN_STATUSES).exists():
            raise RunStateConflict("A run is still active on this thread; stop it first.", param="thread_id")
        Message.objects.filter(thread=thread, role="assistant", created_at__gt=last_user.created_at).delete()
        return run_create(thread=thread, assistant=assistant, options={"model": model} if model else {})
