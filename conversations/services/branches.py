"""Writes on a thread's branches (docs/ui.md, *Branches*): what an edit or a regenerate
replaces, and switching a place of the conversation to another version.

The replaced versions are never deleted: they are taken off the active branch
(``superseded``), so ``Message.objects``, the model's context and the API no longer see
them, and the chat page can switch back. Where a new row attaches and how the tree is read
back is ``conversations.branches``. Call these inside the caller's transaction, with the
thread's row locked (``branch_lock``) and no run active (``branch_check_idle``): one branch change at a time.
"""

from __future__ import annotations

from django.db.models import Q

from conversations.branches import active_path, descend_latest, thread_tree
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread
from kernel.errors import NotFound, RunStateConflict


def branch_lock(*, thread: Thread) -> None:
    """Lock ``thread``'s row for the transaction: one branch change at a time."""
    Thread.objects.select_for_update().filter(pk=thread.pk).first()


def branch_check_idle(*, thread: Thread) -> None:
    """Refuse a branch change while a run is active on ``thread`` (its reply would land on
    whichever branch is active when it ends)."""
    if Run.objects.filter(thread=thread, status__in=ACTIVE_RUN_STATUSES).exists():
        raise RunStateConflict("A run is still active on this thread; stop it first.", param="thread_id")


def branch_supersede_from(*, thread: Thread, message: Message, inclusive: bool) -> int:
    """Take the active branch from ``message`` on (after it, or with it) off the branch: what
    a regenerate (after the user message) or an edit (with it) replaces. The active branch is
    one path, so it is ordered by creation: "from here on" is a time cut. Returns the rows."""
    later = Q(created_at__gt=message.created_at) | Q(created_at=message.created_at, id__gt=message.id)
    if inclusive:
        later |= Q(pk=message.pk)
    return Message.objects.filter(thread=thread).filter(later).update(superseded=True)


def branch_version_select(*, thread: Thread, version_id: str) -> None:
    """Show another version at one place of the conversation: ``version_id`` is a user
    message (an edit) or a run (a regenerate) listed in that place's ``versions``. The branch
    under it comes back as it was last left (its newest versions)."""
    tree = thread_tree(thread)
    keep: list[str] = []
    for entry in active_path(tree):
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

