"""Reads: responses, their output and input items, conversations and their items.

``response_get_for_user`` and ``conversation_get_for_user`` are the only ways a surface
obtains one; another user's id reads as unknown (404).
"""

from __future__ import annotations

from conversations.models import Action, Message, Run, Thread
from conversations.selectors import thread_get_for_user
from kernel.errors import InvalidRequest, NotFound
from responses_api.models import Response
from responses_api.presenters import (
    RESPONSE_STATUS, action_items, message_items, response_object, thread_id_of,
)


def response_get_for_user(*, user, response_id: str, param: str | None = None) -> Response:
    """The user's stored response (one created with ``store: false`` is never found, as at OpenAI)."""
    found = (Response.objects.select_related("run").filter(pk=response_id, owner=user, store=True).first()
             if response_id else None)
    if found is None:
        raise NotFound(f"Response with id '{response_id}' not found.", param=param)
    return found


def conversation_get_for_user(*, user, conversation_id: str, param: str | None = None) -> Thread:
    try:
        return thread_get_for_user(user=user, thread_id=thread_id_of(conversation_id or ""))
    except NotFound:
        raise NotFound(f"Conversation with id '{conversation_id}' not found.", param=param) from None


def response_output(response: Response) -> list[dict]:
    """The items this response produced: its run's messages and tool calls since it began."""
    run = response.run
    window = {"created_at__gte": response.created_at}
    following = _next_segment_start(response)
    if following is not None:
        window["created_at__lt"] = following
    rows: list[tuple] = []
    for message in Message.objects.filter(run=run, role=Message.Role.ASSISTANT, **window):
        if message.content or message.status != Message.Status.IN_PROGRESS:
            rows.append((message.created_at, 0, message.id, message_items(message)))
    search_results = "file_search_call.results" in (response.extras or {}).get("include", [])
    for action in Action.objects.filter(run=run, **window):
        rows.append((action.created_at, 1, action.index,
                     action_items(action, with_outputs=False, search_results=search_results)))
    rows.sort(key=lambda row: row[:3])
    return [item for *_, items in rows for item in items]


def _next_segment_start(response: Response):
    """When the response that continued this one's run began (None: this is the run's last)."""
    return (Response.objects.filter(run_id=response.run_id, created_at__gt=response.created_at)
            .order_by("created_at").values_list("created_at", flat=True).first())


def response_status(response: Response, output: list[dict]) -> str:
    """A segment that handed function calls to the client is complete, whatever its run did next."""
    if any(item["type"] == "function_call" for item in output) or _next_segment_start(response) is not None:
        return "completed"
    return RESPONSE_STATUS.get(response.run.status, response.run.status)


def response_detail(response: Response) -> dict:
    """The whole Response object, from stored state."""
    response.run.refresh_from_db()
    output = response_output(response)
    return response_object(response, response.run, output, status=response_status(response, output))


def _page(items: list[dict], *, limit: int, order: str, after: str | None) -> tuple[list[dict], bool]:
    if order == "desc":
        items = list(reversed(items))
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise InvalidRequest(f"Invalid 'after': no item {after!r} in this list.", param="after")
        items = items[ids.index(after) + 1:]
    return items[:limit], len(items) > limit


def response_input_items(*, response: Response, limit: int, order: str, after: str | None) -> tuple[list, bool]:
    return _page(list(response.input_items or []), limit=limit, order=order, after=after)


def thread_items(thread: Thread) -> list[dict]:
    """Every item of a thread in order: its messages, tool calls and the client's outputs."""
    rows: list[tuple] = []
    for message in Message.objects.filter(thread=thread):
        if message.role == Message.Role.ASSISTANT and not message.content:
            continue
        rows.append((message.created_at, 0, message.id, message_items(message)))
    for action in Action.objects.filter(run__thread=thread):
        rows.append((action.created_at, 1, action.index, action_items(action, with_outputs=True)))
    rows.sort(key=lambda row: row[:3])
    return [item for *_, items in rows for item in items]


def conversation_items(*, thread: Thread, limit: int, order: str, after: str | None) -> tuple[list, bool]:
    return _page(thread_items(thread), limit=limit, order=order, after=after)


def conversation_item_get(*, thread: Thread, item_id: str) -> dict:
    for item in thread_items(thread):
        if item["id"] == item_id:
            return item
    raise NotFound(f"Item with id '{item_id}' not found.", param="item_id")


def paused_run(thread: Thread) -> Run | None:
    """The thread's run waiting for the client's function outputs, if any."""
    return Run.objects.filter(thread=thread, status=Run.Status.REQUIRES_ACTION).first()


def server_side_functions(run: Run) -> frozenset[str]:
    """The declared functions of ``run`` that Entities runs itself (they become mcp_call items):
    those marked ``server_side`` that ``inference.registry`` holds, as the engine decides."""
    from conversations.engine.tools import classify_call, declared_functions

    return frozenset(n for n in declared_functions(run.tools) if n and not classify_call(n, run.tools)[1])
