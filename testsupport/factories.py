"""Rows in any state, written straight to the database for tests that need them.

Message, Run and Action take their owner from the thread (or run), as the services do.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from assistants.models import Assistant
from conversations.models import Action, Message, Run, Thread
from conversations.services.content import content_from_text
from kernel.ids import new_step_id


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
    return Message.objects.create(owner=thread.owner, thread=thread, role=role, **fields)


def make_run(thread: Thread, assistant: Assistant, status: str = "completed", **fields) -> Run:
    fields.setdefault("model", assistant.model)
    return Run.objects.create(owner=thread.owner, thread=thread, assistant_id=assistant.id, status=status, **fields)


def make_action(run: Run, **fields) -> Action:
    fields.setdefault("step_id", new_step_id())
    fields.setdefault("function_name", "get_flight_times")
    fields.setdefault("arguments", '{"departure": "NYC", "arrival": "LAX"}')
    return Action.objects.create(owner=run.owner, run=run, **fields)
