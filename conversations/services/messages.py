"""Writes on messages."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from conversations.branches import message_parent_id
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
from conversations.services.attachments import thread_attach_files
from conversations.services.content import content_text, title_from_text
from files.references import check_references, message_refs
from kernel.errors import RunStateConflict
from kernel.ids import new_message_id


@transaction.atomic
def message_create(*, thread: Thread, role: str, content: list[dict], attachments: list | None = None,
                   metadata: dict | None = None) -> Message:
    """Add a message to ``thread``; refused while a run is active on it, as OpenAI did.

    Its ``file_search`` attachments go into the thread's own vector store (created on demand).
    """
    check_references(owner_id=thread.owner_id, refs=message_refs(content, attachments))
    locked = Thread.objects.select_for_update().get(pk=thread.pk)
    active = Run.objects.filter(thread=locked, status__in=ACTIVE_RUN_STATUSES).values_list("pk", flat=True).first()
    if active:
        raise RunStateConflict(
            f"Can't add messages to {thread.id} while a run {active} is active.", param="thread_id", code="thread_locked"
        )
    message_id = new_message_id()
    message = Message.objects.create(
        id=message_id, parent_id=message_parent_id(thread_id=locked.pk, message_id=message_id),
        owner_id=thread.owner_id, thread=locked, role=role, content=content, attachments=attachments or [],
        metadata=metadata or {}, status=Message.Status.COMPLETED,
    )
    thread_attach_files(thread=locked, attachments=attachments)
    fields = {"updated_at": timezone.now()}
    if not locked.title and role == "user":
        fields["title"] = title_from_text(content_text(content))
    Thread.objects.filter(pk=locked.pk).update(**fields)
    return message


def message_update(*, message: Message, metadata: dict | None) -> Message:
    message.metadata = metadata or {}
    message.save(update_fields=["metadata"])
    return message


def message_delete(*, message: Message) -> None:
    message.delete()
