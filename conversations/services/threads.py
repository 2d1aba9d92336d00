"""Writes on threads."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from assistants.services import tool_resources_resolve
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
from conversations.services.attachments import thread_attach_files
from conversations.services.content import content_text, title_from_text
from files.references import check_references, messages_refs


@transaction.atomic
def thread_create(*, user, messages: list[dict] | None = None, metadata: dict | None = None,
                  tool_resources: dict | None = None, param_prefix: str = "") -> Thread:
    """Create a thread with its initial messages (already validated and normalised).

    File and store ids in them must be the user's (400 naming ``param_prefix``-ed params);
    ``tool_resources.file_search.vector_stores`` creates its store, and files attached to the
    messages for ``file_search`` go into the thread's own store (see thread_attach_files).
    """
    check_references(owner_id=user.pk, refs=messages_refs(messages, param_prefix + "messages"))
    resources = tool_resources_resolve(user=user, tool_resources=tool_resources,
                                       path=param_prefix + "tool_resources")
    thread = Thread.objects.create(owner=user, metadata=metadata or {}, tool_resources=resources or {})
    if messages:
        now = timezone.now()
        rows = []
        for offset, spec in enumerate(messages):
            rows.append(Message(
                owner=user, thread=thread, role=spec["role"], content=spec["content"],
                attachments=spec.get("attachments") or [], metadata=spec.get("metadata") or {},
                status=Message.Status.COMPLETED,
                # Distinct microseconds keep the given order under (created_at, id) ordering.
                created_at=now + timezone.timedelta(microseconds=offset),
            ))
        Message.objects.bulk_create(rows)
        thread_attach_files(thread=thread, attachments=[a for m in messages for a in m.get("attachments") or []])
        first_user = next((m for m in messages if m["role"] == "user"), None)
        if first_user:
            thread.title = title_from_text(content_text(first_user["content"]))
            thread.save(update_fields=["title"])
    return thread


@transaction.atomic
def thread_update(*, thread: Thread, **fields) -> Thread:
    """Change metadata, tool_resources or (Entities extension) title."""
    if fields.get("tool_resources") is not None:
        fields["tool_resources"] = tool_resources_resolve(user=thread.owner, tool_resources=fields["tool_resources"])
    for name in ("metadata", "tool_resources"):
        if name in fields:
            setattr(thread, name, fields[name] or {})
    if "title" in fields:
        thread.title = (fields["title"] or "")[:200]
    if fields:
        thread.updated_at = timezone.now()
        thread.save(update_fields=[*fields, "updated_at"])
    return thread


def thread_delete(*, thread: Thread) -> None:
    """Delete the thread and everything in it; its active runs are stopped first."""
    from conversations.engine.hooks import run_cancel_requested

    active = list(Run.objects.filter(thread=thread, status__in=ACTIVE_RUN_STATUSES).values_list("pk", flat=True))
    with transaction.atomic():
        thread.delete()
    for run_id in active:
        run_cancel_requested(run_id)


def thread_touch(*, thread_id: str) -> None:
    Thread.objects.filter(pk=thread_id).update(updated_at=timezone.now())
