"""Chat turns, as the browser, the WebSocket and the seed route start them."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from assistants.models import Assistant
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
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


def _no_active_run(thread: Thread) -> None:
    if Run.objects.filter(thread=thread, status__in=ACTIVE_RUN_STATUSES).exists():
        raise RunStateConflict("A run is still active on this thread; stop it first.", param="thread_id")


def _supersede_from(thread: Thread, message: Message, *, inclusive: bool) -> None:
    """Take the active branch from ``message`` on (after it, or with it) off the branch. The
    active branch is one path, so it is ordered by creation: "from here on" is a time cut."""
    later = Q(created_at__gt=message.created_at) | Q(created_at=message.created_at, id__gt=message.id)
    if inclusive:
        later |= Q(pk=message.pk)
    Message.objects.filter(thread=thread).filter(later).update(superseded=True)


def chat_regenerate(*, thread: Thread, assistant: Assistant, model: str | None = None) -> Run:
    """Answer the last user message again. The earlier answer stays as a version of the reply
    (superseded: off the active branch, so the model and the API no longer see it)."""
    with transaction.atomic():
        Thread.objects.select_for_update().filter(pk=thread.pk).first()  # one branch change at a time
        last_user = Message.objects.filter(thread=thread, role="user").order_by("-created_at", "-id").first()
        if last_user is None:
            raise RunStateConflict("There is no user message to answer.", param="thread_id")
        _no_active_run(thread)
        _supersede_from(thread, last_user, inclusive=False)
        return run_create(thread=thread, assistant=assistant, options={"model": model} if model else {})


def chat_edit(*, thread: Thread, assistant: Assistant, message_id: str, text: str,
              model: str | None = None) -> tuple[Message, Run]:
    """Edit a sent user message and resend it: a new version of that message (same place in
    the conversation), answered by a new run. The old version and everything after it stay
    as the other branch (superseded)."""
    if not isinstance(message_id, str) or not message_id:
        raise InvalidRequest("'message_id' is required.", param="message_id")
    with transaction.atomic():
        Thread.objects.select_for_update().filter(pk=thread.pk).first()
        original = Message.objects.filter(thread=thread, pk=message_id, role="user").first()
        if original is None:
            raise NotFound(f"No user message '{message_id[:80]}' on this thread's active branch.", param="message_id")
        _no_active_run(thread)
        _supersede_from(thread, original, inclusive=True)
        # Message.save makes the new version follow the active leaf: what the original followed.
        return chat_turn_start(thread=thread, assistant=assistant, text=text, model=model)


def chat_version_select(*, thread: Thread, version_id: str) -> None:
    """Show another version at one place of the conversation: ``version_id`` is a user
    message (an edit) or a run (a regenerate) listed in that place's ``versions``. The branch
    under it comes back as it was last left (its newest versions)."""
    from conversations.branches import active_path, descend_latest, thread_tree

    if not isinstance(version_id, str) or not version_id:
        raise InvalidRequest("'version' is required.", param="version")
    with transaction.atomic():
        Thread.objects.select_for_update().filter(pk=thread.pk).first()
        _no_active_run(thread)
        tree = thread_tree(thread)
        path = active_path(tree)
        keep: list[str] = []
        for entry in path:
            if version_id in entry["versions"]:
                break
            keep.extend(m.id for m in ([entry["message"]] if entry["type"] == "user" else entry["messages"]))
        else:
            raise NotFound(f"No version '{version_id[:80]}' on this thread's active branch.", param="version")
        if version_id in tree.runs:
            run = tree.runs[version_id]
            keep.extend(m.id for m in tree.run_messages.get(run.id, []))
            node = tree.run_end(run)
        else:
            keep.append(version_id)
            node = version_id
        answered = version_id in tree.runs and not tree.run_messages.get(version_id)
        keep.extend(descend_latest(tree, node, answered=answered))
        Message.all_objects.filter(thread=thread).exclude(pk__in=keep).update(superseded=True)
        Message.all_objects.filter(thread=thread, pk__in=keep).update(superseded=False)
