"""Reads of threads, messages, runs and run steps.

The ``*_get_for_user`` functions are the only way a surface obtains an object; they
raise NotFound for unknown ids and for other users' objects alike (404, never 403).
"""

from __future__ import annotations

from django.db.models import Q

from conversations.models import ACTIVE_RUN_STATUSES, Action, Message, Run, Thread
from conversations.presenters import message_step_object, tool_step_object
from kernel.errors import InvalidRequest, NotFound
from kernel.pagination import PageParams, paginate


def thread_get_for_user(*, user, thread_id: str) -> Thread:
    thread = Thread.objects.filter(pk=thread_id, owner=user).first() if thread_id else None
    if thread is None:
        raise NotFound(f"No thread found with id '{thread_id}'.")
    return thread


def thread_list(*, user, page: PageParams, search: str | None = None) -> tuple[list[Thread], bool]:
    """The user's threads; ``search`` matches the title or any message's text (Entities extension)."""
    qs = Thread.objects.filter(owner=user)
    if search:
        hits = Message.objects.filter(owner=user, content__icontains=search).values("thread_id")
        qs = qs.filter(Q(title__icontains=search) | Q(pk__in=hits))
    return paginate(qs, page)


def message_get_for_user(*, user, thread: Thread, message_id: str) -> Message:
    message = Message.objects.filter(pk=message_id, thread=thread, owner=user).first() if message_id else None
    if message is None:
        raise NotFound(f"No message found with id '{message_id}'.")
    return message


def message_list(*, thread: Thread, page: PageParams, run_id: str | None = None) -> tuple[list[Message], bool]:
    qs = Message.objects.filter(thread=thread)
    if run_id:
        qs = qs.filter(run_id=run_id)
    return paginate(qs, page)


def run_get_for_user(*, user, thread: Thread, run_id: str) -> Run:
    run = Run.objects.filter(pk=run_id, thread=thread, owner=user).first() if run_id else None
    if run is None:
        raise NotFound(f"No run found with id '{run_id}'.")
    return run


def run_get_by_id_for_user(*, user, run_id: str) -> Run:
    """A run by id alone (the WebSocket and resume routes know only the run)."""
    run = Run.objects.filter(pk=run_id, owner=user).first() if run_id else None
    if run is None:
        raise NotFound(f"No run found with id '{run_id}'.")
    return run


def run_list(*, thread: Thread, page: PageParams) -> tuple[list[Run], bool]:
    return paginate(Run.objects.filter(thread=thread), page)


def thread_active_run(*, thread: Thread) -> Run | None:
    return Run.objects.filter(thread=thread, status__in=ACTIVE_RUN_STATUSES).first()


def run_step_objects(*, run: Run, include_content: bool = False) -> list[dict]:
    """All steps of a run, oldest first: tool_calls steps from actions, message steps from messages
    (file_search results with their chunk text when ``include_content``)."""
    timed: list[tuple] = []
    groups: dict[str, list[Action]] = {}
    for action in Action.objects.filter(run=run).order_by("created_at", "index"):
        groups.setdefault(action.step_id, []).append(action)
    for step_id, actions in groups.items():
        timed.append((actions[0].created_at, step_id, tool_step_object(run, step_id, actions, include_content=include_content)))
    for message in Message.objects.filter(run=run, role=Message.Role.ASSISTANT):
        timed.append((message.created_at, message.id, message_step_object(run, message)))
    # Sort on the stored microsecond timestamps, not the API's whole seconds.
    timed.sort(key=lambda t: (t[0], t[1]))
    return [step for _, _, step in timed]


def run_step_list(*, run: Run, page: PageParams, include_content: bool = False) -> tuple[list[dict], bool]:
    """A page of the derived steps, with the same cursor rules as every other list."""
    steps = run_step_objects(run=run, include_content=include_content)
    if page.order == "desc":
        steps.reverse()
    ids = [s["id"] for s in steps]
    start, end = 0, len(steps)
    for param, cursor in (("after", page.after), ("before", page.before)):
        if cursor is None:
            continue
        if cursor not in ids:
            raise InvalidRequest(f"Invalid '{param}': no step {cursor!r} in this run.", param=param)
        if param == "after":
            start = ids.index(cursor) + 1
        else:
            end = ids.index(cursor)
    window = steps[start:end]
    if page.before and not page.after:
        chosen = window[-page.limit:]
        return chosen, len(window) > page.limit
    return window[: page.limit], len(window) > page.limit


def run_step_get(*, run: Run, step_id: str, include_content: bool = False) -> dict:
    for step in run_step_objects(run=run, include_content=include_content):
        if step["id"] == step_id:
            return step
    raise NotFound(f"No run step found with id '{step_id}'.")


def thread_chat_history(*, thread: Thread, limit: int = 100, before: str | None = None) -> tuple[list[dict], bool]:
    """The chat page's transcript of ``thread``: the active branch (conversations.branches) in
    order, each assistant message grouped under its run, with the versions at each place.
    Returns (entries, has_more): the latest entries holding at most ``limit`` messages, or, with
    ``before`` (an entry's ``key``, the cursor the page got), the ones just before that entry.

    Each entry is ``{"type": "user", "message"}`` or ``{"type": "run", "run" (None for an
    assistant message added without a run), "messages"}``, plus ``key`` and ``versions`` (the
    ids of the alternatives at that place, this entry's among them). A run that left no message
    shows only while it is the newest answer at its place and not a completed empty one.
    """
    from conversations.branches import active_path, thread_tree

    entries = active_path(thread_tree(thread))
    end = len(entries)
    if before is not None:
        keys = [entry["key"] for entry in entries]
        if before not in keys:
            raise InvalidRequest(f"No entry '{before[:80]}' on this thread's active branch.", param="before")
        end = keys.index(before)
    start, count = end, 0
    while start > 0 and (start == end or count + max(1, len(_entry_messages(entries[start - 1]))) <= limit):
        start -= 1
        count += max(1, len(_entry_messages(entries[start])))
    return entries[start:end], start > 0


def _entry_messages(entry: dict) -> list:
    return [entry["message"]] if entry["type"] == "user" else entry["messages"]


def thread_export_messages(*, thread: Thread) -> list[Message]:
    """What a chat export holds: the messages of ``thread``'s active branch, oldest first."""
    return list(Message.objects.filter(thread=thread).order_by("created_at", "id"))
