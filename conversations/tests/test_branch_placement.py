"""Every writer places its row on the active branch (conversations.branches): a first message is
its own parent, a later one follows the active leaf, a run answers the leaf, and the engine's
reply follows what was the leaf when it was written. The chat page's versions rest on these."""

from __future__ import annotations

import pytest

from conversations.engine.store import create_assistant_message
from conversations.models import Message, Run
from conversations.services.content import content_from_text
from conversations.services.messages import message_create
from conversations.services.runs import run_create
from testsupport.factories import make_assistant, make_thread, make_user

pytestmark = pytest.mark.django_db


def test_it_places_each_message_and_run_on_the_active_branch_as_it_is_written():
    alice = make_user("alice")
    assistant, thread = make_assistant(alice), make_thread(alice)

    first = message_create(thread=thread, role="user", content=content_from_text("Hello"))
    second = message_create(thread=thread, role="user", content=content_from_text("Are you there?"))
    run = run_create(thread=thread, assistant=assistant)
    reply = create_assistant_message(Run.objects.get(pk=run.pk))

    stored = {m.id: m.parent_id for m in Message.all_objects.filter(thread=thread)}
    assert stored == {first.id: first.id, second.id: first.id, reply.id: second.id}
    assert Run.objects.get(pk=run.pk).parent_message_id == second.id
