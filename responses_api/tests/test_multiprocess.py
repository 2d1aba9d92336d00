"""A background response started through process A, watched and cancelled through process B
(PostgreSQL + Redis): the Responses stream follows the run over the channel layer like
every other surface."""

from __future__ import annotations

import time

import openai
import pytest

from conversations.models import Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai, entities_processes
from testsupport.scenarios import Reply, words
from testsupport.users import make_person

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORDS = words("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima")


def _client(process, person) -> openai.OpenAI:
    return openai.OpenAI(base_url=process.v1, api_key=person.api_key, max_retries=0, timeout=30)


def test_a_response_run_by_one_process_streams_through_another(entities_processes, fake_openai):
    a, b = entities_processes
    alice = make_person("alice")
    fake_openai.push(Reply(WORDS, delay=0.04))
    with _client(a, alice) as on_a, _client(b, alice) as on_b:
        started = on_a.responses.create(model="cloud/x", input="Spell it", background=True)
        with on_b.responses.stream(response_id=started.id) as stream:
            events = list(stream)
            final = stream.get_final_response()

    assert final.output_text == "".join(WORDS)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    assert events[-1].type == "response.completed"


def test_a_response_run_by_one_process_is_cancelled_through_another(entities_processes, fake_openai):
    a, b = entities_processes
    alice = make_person("alice")
    fake_openai.push(Reply(WORDS, delay=0.3))
    with _client(a, alice) as on_a, _client(b, alice) as on_b:
        started = on_a.responses.create(model="cloud/x", input="Spell it", background=True)
        deadline = time.monotonic() + 10
        while on_b.responses.retrieve(started.id).status != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cancelled = on_b.responses.cancel(started.id)

    assert cancelled.status == "cancelled"
    assert fake_openai.wait_for_disconnect(timeout=5), "process A left the model generating"
    assert Run.objects.get(responses__id=started.id).status == "cancelled"
