"""A new run belongs to the process that creates it from its first write: stored
in_progress under that process's lease, answered queued, and started by the engine
without reading the run back before the model request goes out (issue 19)."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from conversations.models import Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_for, …
from testsupport.db_counter import WriteCounter
from testsupport.factories import make_assistant, make_message, make_thread
from testsupport.scenarios import Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RUN_BY_ID = re.compile(r'^\s*SELECT .* FROM "conversations_run" .*WHERE "conversations_run"\."id" = ', re.DOTALL)


class StatementCounter(WriteCounter):
    """Every statement, on every connection of the process (``WriteCounter`` keeps the writes only)."""

    def _record(self, sql: str) -> None:
        with self._lock:
            self.statements.append(sql)


def test_it_stores_a_new_run_claimed_by_this_process_and_answers_it_queued(live_entities, alice, cloud):
    from conversations.engine.runtime import runtime
    from conversations.services.runs import run_create

    cloud.push(Reply(["Hi", " there"]))
    thread = make_thread(alice.user)
    make_message(thread, text="Hello")
    with transaction.atomic():
        run = run_create(thread=thread, assistant=make_assistant(alice.user, model="cloud/fake-model"))
        stored = Run.objects.get(pk=run.pk)  # inside the creating transaction: no claim has run yet
        assert (run.status, run.started_at, run.lease_owner) == ("queued", None, "")
        assert (stored.status, stored.lease_owner) == ("in_progress", runtime.owner)
        assert stored.started_at == stored.created_at and stored.lease_expires_at > stored.created_at

    ended = wait_until(lambda: Run.objects.filter(pk=run.pk, status="completed").first(), what="run completed")
    assert ended.started_at == stored.started_at
    assert Message.objects.get(run_id=run.pk).text() == "Hi there"


def test_its_stream_still_announces_it_created_and_queued_before_in_progress(live_entities, sdk, cloud):
    cloud.push(Reply(["one", " two"]))
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Count."}])

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = [(e.event, getattr(e.data, "status", None), getattr(e.data, "started_at", None)) for e in stream
                  if e.event.startswith("thread.run.") and not e.event.startswith("thread.run.step")]

    assert [e[:2] for e in events] == [("thread.run.created", "queued"), ("thread.run.queued", "queued"),
                                       ("thread.run.in_progress", "in_progress"), ("thread.run.completed", "completed")]
    assert (events[0][2], events[1][2]) == (None, None) and events[2][2] is not None


def test_the_engine_reads_no_run_row_before_the_model_request(live_entities, sdk, cloud):
    # The reply waits before its first chunk: the statements counted up to the
    # moment the model server has the request are everything the run did before its first byte.
    cloud.push(Reply(["late"], first_delay=0.5))
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])

    with StatementCounter() as statements:
        run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        wait_until(lambda: cloud.requests, what="the model request")
        before_request = list(statements.statements)
    wait_for(sdk, run, TERMINAL, timeout=10)

    assert [s for s in before_request if RUN_BY_ID.match(s)] == []
    assert not any(s.lstrip().upper().startswith("UPDATE") and "conversations_run" in s for s in before_request)
