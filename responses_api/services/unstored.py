"""``store: false``: a response that is not kept once it ended.

The engine works from stored state, so a non-stored response is stored while it runs
(hidden from every read: ``response_get_for_user`` finds stored responses only) and
forgotten once its run ended: its run, the messages it added and, when it had a thread of
its own, that thread. A run paused for function outputs is kept until the client answers
(OpenAI's guide sends the whole history back, which continues the run) or it expires.
"""

from __future__ import annotations

from django.db import transaction

from conversations.models import TERMINAL_RUN_STATUSES, Message, Run, Thread
from responses_api.models import Response


@transaction.atomic
def response_forget(*, response_id: str) -> bool:
    """Delete a non-stored response's state if its run ended; True when it did (or it is gone)."""
    response = Response.objects.select_related("run").filter(pk=response_id, store=False).first()
    if response is None:
        return True
    run = Run.objects.select_for_update().filter(pk=response.run_id).first()
    if run is None or run.status not in TERMINAL_RUN_STATUSES:
        return False
    segments = Response.objects.filter(run=run)
    if segments.filter(store=True).exists():
        segments.filter(store=False).delete()  # a stored segment keeps the run; hide the rest
        return True
    thread_id, in_conversation = run.thread_id, response.in_conversation
    added = [item["id"] for r in segments for item in r.input_items or [] if item.get("type") == "message"]
    Message.objects.filter(thread_id=thread_id, pk__in=added).delete()
    Message.objects.filter(run=run).delete()
    run.delete()  # its actions and responses with it
    if not in_conversation and not Run.objects.filter(thread_id=thread_id).exists():
        Thread.objects.filter(pk=thread_id).delete()  # the thread (or branch) it had to itself
    return True


def responses_forget_ended(*, user) -> None:
    """Forget ``user``'s non-stored responses whose run ended while nobody watched (the client
    left before the end, or the process that watched stopped)."""
    ended = Response.objects.filter(owner=user, store=False, run__status__in=TERMINAL_RUN_STATUSES)
    for response_id in ended.values_list("pk", flat=True):
        response_forget(response_id=response_id)
