"""Rows in any state, written straight to the database for tests that need them.

Message, Run and Action take their owner from the thread (or run), and messages and runs
their place on the active branch (conversations.branches), as the services do.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from assistants.models import Assistant
from conversations.branches import message_parent_id, run_parent_message_id
from conversations.models import Action, Message, Run, Thread
from conversations.services.content import content_from_text
from kernel.ids import new_message_id, new_step_id


def make_user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, **fields)


def make_assistant(owner, **fields) -> Assistant:
    fields.setdefault("model", "demo/echo")
    fields.setdefault("name", "Helper")
    return Assistant.objects.create(owner=owner, **fields)


def make_thread(owner, **fields) -> Thread:
    return Thread.objects.create(owner=owner, **fields)


def make_message(thread: Thread, role: str = "user", text: str = "hi", **fields) -> Message:
    fields.setdefault("content", content_from_text(text))
    fields.setdefault("id", new_message_id())
    if fields.get("parent") is None and fields.get("parent_id") is None and not fields.get("superseded"):
        fields["parent_id"] = message_parent_id(thread_id=thread.pk, message_id=fields["id"])
    return Message.objects.create(owner=thread.owner, thread=thread, role=role, **fields)


def make_run(thread: Thread, assistant: Assistant, status: str = "completed", **fields) -> Run:
    fields.setdefault("model", assistant.model)
    if fields.get("parent_message") is None and fields.get("parent_message_id") is None:
        fields["parent_message_id"] = run_parent_message_id(thread_id=thread.pk)
    return Run.objects.create(owner=thread.owner, thread=thread, assistant_id=assistant.id, status=status, **fields)


def make_action(run: Run, **fields) -> Action:
    fields.setdefault("step_id", new_step_id())
    fields.setdefault("function_name", "get_flight_times")
    fields.setdefault("arguments", '{"departure": "NYC", "arrival": "LAX"}')
    return Action.objects.create(owner=run.owner, run=run, **fields)
