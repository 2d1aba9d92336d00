"""A thread's conversation as a tree of versions (docs/ui.md, *Branches*): where a new row
attaches, and the tree read back. Writes nothing; the branch writes (edit, regenerate,
version switch) are ``conversations.services.branches``.

Storage (conversations.models): every message has a ``parent`` (the message it follows on its
branch) and a ``superseded`` flag (off the active branch); every run has a ``parent_message``
(the message it answers). Editing a user message adds a sibling of it (same parent); a
regenerate adds a sibling run (same parent message). The *active branch* is the path of
messages whose flag is clear; ``Message.objects`` reads only those, so the API and the
model's context see one linear conversation.

Every writer of a message or a run (the services, and the engine for the replies) places it
with ``message_parent_id`` / ``run_parent_message_id`` when it inserts the row: a new message
follows the active leaf, a new run answers it. A first message is its own parent. Rows without
one (bulk-created in order, or older than branching) follow the message created just before
them; runs without one answer the newest message created before them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from conversations.models import ACTIVE_RUN_STATUSES, Message, Run, Thread


def active_leaf_id(*, thread_id: str) -> str | None:
    """The newest message on ``thread_id``'s active branch (what a new message or run follows)."""
    return (Message.objects.filter(thread_id=thread_id).order_by("-created_at", "-id")
            .values_list("id", flat=True).first())


def message_parent_id(*, thread_id: str, message_id: str) -> str:
    """The ``parent`` of a new active message ``message_id``: the active leaf, or the message
    itself when it is the thread's first (an empty parent means "not recorded")."""
    return active_leaf_id(thread_id=thread_id) or message_id


def run_parent_message_id(*, thread_id: str) -> str | None:
    """The ``parent_message`` of a new run on ``thread_id``: the message it answers."""
    return active_leaf_id(thread_id=thread_id)


@dataclass
class Tree:
    """One thread's messages and runs, indexed by the node (a message id, or None for the
    start) that they follow. Run messages belong to their run, not to the tree's nodes."""

    messages: dict[str, Message] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    run_messages: dict[str, list[Message]] = field(default_factory=lambda: defaultdict(list))
    kids: dict[str | None, list[Message]] = field(default_factory=lambda: defaultdict(list))
    run_kids: dict[str | None, list[Run]] = field(default_factory=lambda: defaultdict(list))
    parent_of: dict[str, str | None] = field(default_factory=dict)  # node id (message or run) → node

    def run_end(self, run: Run) -> str | None:
        """The node a run's reply leaves the conversation at: its last message, else its parent."""
        messages = self.run_messages.get(run.id)
        return messages[-1].id if messages else self.parent_of[run.id]

    def reply_versions(self, node: str | None) -> list[Run]:
        """The runs answering ``node`` that are versions of its reply: those that left a message,
        and the newest run if it left none but still matters (active, failed, stopped)."""
        runs = self.run_kids.get(node, [])
        versions = [run for run in runs if self.run_messages.get(run.id)]
        if runs and not self.run_messages.get(runs[-1].id):
            newest = runs[-1]
            if newest.status in ACTIVE_RUN_STATUSES or newest.status != Run.Status.COMPLETED:
                versions.append(newest)
        return versions

    def active_reply(self, node: str | None) -> tuple[Run | None, list[Run]]:
        """The version of ``node``'s reply on the active branch, and all its versions."""
        versions = self.reply_versions(node)
        for run in versions:
            if any(not m.superseded for m in self.run_messages.get(run.id, [])):
                return run, versions
        empty = [run for run in versions if not self.run_messages.get(run.id)]
        return (empty[-1] if empty else None), versions

    def active_kid(self, node: str | None) -> tuple[Message | None, list[Message]]:
        """The message after ``node`` on the active branch, and all its versions."""
        kids = self.kids.get(node, [])
        active = [m for m in kids if not m.superseded]
        return (active[-1] if active else None), kids


def thread_tree(thread: Thread) -> Tree:
    """Build the tree of ``thread`` (two queries: every message version and every run)."""
    tree = Tree()
    messages = list(Message.all_objects.filter(thread=thread).order_by("created_at", "id"))
    runs = list(Run.objects.filter(thread=thread).order_by("created_at", "id"))
    tree.messages = {m.id: m for m in messages}
    tree.runs = {r.id: r for r in runs}
    last_any = last_active = None
    resolved: dict[str, str | None] = {}
    for message in messages:
        fallback = last_any if message.superseded else last_active
        if message.parent_id == message.id:  # a first message
            resolved[message.id] = None
        else:
            resolved[message.id] = message.parent_id if message.parent_id in tree.messages else fallback
        if message.run_id in tree.runs:
            tree.run_messages[message.run_id].append(message)
        else:
            tree.parent_of[message.id] = resolved[message.id]
            tree.kids[resolved[message.id]].append(message)
        last_any = message.id
        if not message.superseded:
            last_active = message.id
    for run in runs:
        own = tree.run_messages.get(run.id)
        if own:  # where its reply went: what its first message followed
            parent = resolved[own[0].id]
        elif run.parent_message_id in tree.messages:
            parent = run.parent_message_id
        else:  # older rows: the newest message created before it
            before = [m for m in messages if (m.created_at, m.id) < (run.created_at, run.id)]
            parent = before[-1].id if before else None
        tree.parent_of[run.id] = parent
        tree.run_kids[parent].append(run)
    return tree


def active_path(tree: Tree) -> list[dict]:
    """The active branch, in order: ``{"type": "user"|"run", "message"|"run"+"messages",
    "versions": [ids], "node": id}`` — ``versions`` are the alternatives at that place
    (user messages for an edit, runs for a regenerate), the shown one among them."""
    entries: list[dict] = []
    node: str | None = None
    for _ in range(len(tree.messages) + len(tree.runs) + 1):  # a path never revisits a node
        run, versions = tree.active_reply(node)
        if run is not None:
            entries.append({"type": "run", "run": run, "messages": list(tree.run_messages.get(run.id, [])),
                            "versions": [r.id for r in versions], "key": run.id})
            if tree.run_messages.get(run.id):  # a reply may be answered again (two runs in a row)
                node = tree.run_end(run)
                continue
        message, kids = tree.active_kid(node)
        if message is None:
            break
        if message.role == Message.Role.USER:
            entries.append({"type": "user", "message": message, "versions": [m.id for m in kids], "key": message.id})
        else:  # an assistant message added without a run (through the API) is a reply of its own
            entries.append({"type": "run", "run": None, "messages": [message],
                            "versions": [m.id for m in kids], "key": message.id})
        node = message.id
    return entries


def descend_latest(tree: Tree, node: str | None, *, answered: bool = False) -> list[str]:
    """The message ids from ``node`` down, taking the newest version at each place (what a
    branch shows when it is switched back to). ``answered``: ``node``'s reply is already
    chosen (a run that left no message), so start with the message after it."""
    ids: list[str] = []
    for _ in range(len(tree.messages) + len(tree.runs) + 1):
        versions = [] if answered else [run for run in tree.reply_versions(node) if tree.run_messages.get(run.id)]
        answered = False
        if versions:
            ids.extend(m.id for m in tree.run_messages[versions[-1].id])
            node = tree.run_end(versions[-1])
            continue
        kids = tree.kids.get(node, [])
        if not kids:
            break
        ids.append(kids[-1].id)
        node = kids[-1].id
    return ids
