"""Writes on conversations: they are threads, so every write is a threads/messages service."""

from __future__ import annotations

from django.db import transaction

from conversations.models import Message, Thread
from conversations.services.messages import message_create, message_delete
from conversations.services.threads import thread_create, thread_delete, thread_update
from kernel.errors import InvalidRequest, NotFound
from responses_api.input_files import resolve as resolve_files


def conversation_create(*, user, messages: list[dict], metadata: dict) -> Thread:
    """A new conversation (thread) with up to 20 initial messages (files given as their text)."""
    resolve_files(user=user, messages=messages)
    return thread_create(user=user, messages=messages, metadata=metadata)


def conversation_update(*, thread: Thread, metadata: dict) -> Thread:
    return thread_update(thread=thread, metadata=metadata)


def conversation_delete(*, thread: Thread) -> None:
    thread_delete(thread=thread)


@transaction.atomic
def conversation_items_add(*, thread: Thread, messages: list[dict]) -> list[Message]:
    """Append messages (files given as their text); refused while a response is running in the conversation."""
    resolve_files(user=thread.owner, messages=messages)
    return [message_create(thread=thread, role=m["role"], content=m["content"]) for m in messages]


def conversation_item_delete(*, thread: Thread, item_id: str) -> None:
    """Delete a message item (tool-call items belong to their response and stay)."""
    message = Message.objects.filter(pk=item_id, thread=thread).first()
    if message is None:
        if item_id.split("_", 1)[0] in ("fc", "fco", "ci", "mcp"):
            raise InvalidRequest("Entities deletes message items only; tool-call items stay with their response.",
                                 param="item_id")
        raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")
    message_delete(message=message)
