"""A graceful restart (SIGTERM) under both servers Entities ships with: uvicorn (`make
serve-prod`) and daphne (`make run`). Running replies get the grace period to finish, what is
left ends with its text kept and a last_error that says the server was restarted, and queued
runs are left for the next process."""

from __future__ import annotations

import signal
import sys
import time
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from conversations.engine.endings import RESTARTED_ERROR
from conversations.models import Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — fake_openai, wait_for, …
from testsupport.factories import make_assistant, make_message, make_run, make_thread
from testsupport.live import free_port
from testsupport.processes import EntitiesProcess, ServerProcess, database_env_for_subprocess
from testsupport.scenarios import Reply, words

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

EXIT_TIMEOUT = 20.0


def _server(kind: str, env: dict) -> ServerProcess:
    if kind == "uvicorn":
        return EntitiesProcess(env=env)
    port = free_port()  # what `make run` starts
    return ServerProcess([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                          "entities_project.asgi:application"], port=port, env={"DEBUG": "0", **env})


def _env(fake_openai, grace: float) -> dict:
    return {**database_env_for_subprocess(), "OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "test",
            "ENTITIES_SHUTDOWN_GRACE_SECONDS": str(grace), "ENTITIES_RUN_LEASE_SECONDS": "3",
            "ENTITIES_SWEEP_INTERVAL_SECONDS": "0.3"}


def _stream_until(client, thread_id: str, assistant_id: str, chars: int, on_reached) -> tuple[str, list[str], object]:
    """Stream a run; call ``on_reached()`` once ``chars`` characters arrived; read to the end."""
    text, names, reached = "", [], False
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        for event in stream:
            names.append(event.event)
            if event.event == "thread.message.delta":
                text += "".join(p.text.value for p in event.data.delta.content if p.type == "text")
                if not reached and len(text) >= chars:
                    reached = True
                    on_reached()
    return text, names, stream.current_run


def _terminate(server: ServerProcess) -> None:
    server.process.send_signal(signal.SIGTERM)


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_reply_that_finishes_within_the_grace_period_completes(transactional_db, alice, fake_openai, kind):
    full = "steady " * 40  # 40 chunks, 50 ms apart: 2 s
    fake_openai.push(Reply(words(full), delay=0.05))

    with _server(kind, _env(fake_openai, grace=8)) as server:
        client = openai.OpenAI(base_url=server.v1, api_key=alice.api_key, max_retries=0, timeout=20)
        assistant = client.beta.assistants.create(model="cloud/fake-model")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Go."}])
        signalled = {}
        text, names, run = _stream_until(client, thread.id, assistant.id, 20,
                                         lambda: (signalled.setdefault("at", time.monotonic()), _terminate(server)))
        server.process.wait(EXIT_TIMEOUT)
        exited_after = time.monotonic() - signalled["at"]

    assert (names[-1], text) == ("thread.run.completed", full), server.output()
    stored = Run.objects.get(pk=run.id)
    assert (stored.status, stored.last_error) == ("completed", None)
    assert Message.objects.get(run_id=run.id).text() == full
    assert exited_after < 8, "the process waited the whole grace period for a run that had finished"


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_reply_longer_than_the_grace_period_ends_with_its_text_kept(transactional_db, alice, fake_openai, kind):
    full = "slowly " * 200  # 10 s
    fake_openai.push(Reply(words(full), delay=0.05), Reply(["adopted"]))
    env = _env(fake_openai, grace=1.5)

    with _server(kind, env) as server:
        client = openai.OpenAI(base_url=server.v1, api_key=alice.api_key, max_retries=0, timeout=20)
        assistant = client.beta.assistants.create(model="cloud/fake-model")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Go on."}])
        # A run queued by a process that died, waiting for someone to adopt it.
        other = make_thread(alice.user)
        make_message(other, text="Anyone?")
        queued = make_run(other, make_assistant(alice.user, model="cloud/fake-model"), status="queued",
                          expires_at=timezone.now() + timedelta(minutes=5))

        def terminate_and_queue():
            _terminate(server)
            # From now on the draining process takes no run, not even one its sweeper finds.
            Run.objects.filter(pk=queued.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

        text, names, run = _stream_until(client, thread.id, assistant.id, 30, terminate_and_queue)
        server.process.wait(EXIT_TIMEOUT)

    assert names[-1] == "thread.run.failed", (names[-3:], server.output())
    stored = Run.objects.get(pk=run.id)
    assert (stored.status, stored.last_error) == ("failed", {"code": "server_error", "message": RESTARTED_ERROR})
    reply = Message.objects.get(run_id=run.id)
    assert (reply.status, reply.incomplete_details) == ("incomplete", {"reason": "run_failed"})
    # Nothing the client saw is lost; the text is the reply's beginning.
    assert reply.text().startswith(text) and full.startswith(reply.text()) and len(text) > 30
    assert Run.objects.get(pk=queued.pk).status == "queued"  # left for the next process

    with _server(kind, env) as second:
        client = openai.OpenAI(base_url=second.v1, api_key=alice.api_key, max_retries=0, timeout=20)
        adopted = wait_for(client, queued, TERMINAL, timeout=15)

    assert adopted.status == "completed"
    assert Message.objects.get(run_id=queued.pk).text() == "adopted"
