"""Faults injected through the fake model servers, real processes and the database itself.

After each one: every run is terminal with a clear last_error, the user's messages are
intact and stored once, nothing is left pending (testsupport.invariants), and the server
still serves: a fresh run completes.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
import time
import uuid

import httpx
import openai
import pytest
from django.db import connection
from django.test import override_settings

from conversations.engine.sweeper import OWNER_LOST_ERROR
from conversations.models import Message, Run
from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai
from testsupport.invariants import assert_store_consistent, assert_user_messages_intact
from testsupport.live import free_port, sdk_for
from testsupport.processes import EntitiesProcess, database_env_for_subprocess
from testsupport.scenarios import Disconnect, Hang, HttpError, Malformed, Reply, ToolCalls, words

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks assistants deprecated

READ_TIMEOUT = 1.0
DB_UNAVAILABLE = {"error": {"message": "The database is unavailable for a moment; retry shortly.",
                            "type": "server_error", "param": None, "code": "database_unavailable"}}
CLIENT_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture
def cloud(fake_openai):
    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="t", INFERENCE_READ_TIMEOUT=READ_TIMEOUT):
        InferenceFactory.reset()
        yield fake_openai
    InferenceFactory.reset()


def _unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


def _streamed(client, thread_id: str, assistant_id: str):
    """Run through the SDK's streaming helper; (event names, final run)."""
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        names = [event.event for event in stream]
        return names, stream.get_final_run()


# --- the model server misbehaves -------------------------------------------------------------

MODEL_FAULTS = {
    "down": (None, "no model server answered"),
    "http_500": (HttpError(500, '{"error": {"message": "the GPU caught fire"}}'), "HTTP 500"),
    "hang": (Hang(after_chunks=2), "INFERENCE_READ_TIMEOUT"),
    "disconnect": (Disconnect(after_chunks=2), "closed the connection mid-reply"),
    "malformed": (Malformed(after_chunks=1), "malformed chunk"),
}


@pytest.mark.parametrize("fault", MODEL_FAULTS)
def test_a_model_fault_fails_the_run_cleanly_and_the_next_run_completes(live_entities, alice, cloud, fault):
    scenario, phrase = MODEL_FAULTS[fault]
    client = sdk_for(live_entities, alice)
    assistant = client.beta.assistants.create(model="cloud/fake-model")
    said = [_unique("before the fault")]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": said[0]}])
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with override_settings(OPENAI_BASE_URL=down) if scenario is None else override_settings():
        InferenceFactory.reset()
        if scenario is not None:
            cloud.push(scenario)
        started = time.monotonic()
        names, failed = _streamed(client, thread.id, assistant.id)
    InferenceFactory.reset()

    assert time.monotonic() - started < READ_TIMEOUT + 8
    assert names[-1] == "thread.run.failed"
    assert (failed.status, failed.last_error.code) == ("failed", "server_error")
    assert phrase in failed.last_error.message and (down if scenario is None else cloud.base_url) in failed.last_error.message
    assert_store_consistent()
    assert_user_messages_intact(thread.id, said)

    cloud.push(Reply(["All", " good"]))
    said.append(_unique("after the fault"))
    client.beta.threads.messages.create(thread.id, role="user", content=said[1])
    names, done = _streamed(client, thread.id, assistant.id)
    assert (names[-1], done.status) == ("thread.run.completed", "completed")
    assert client.beta.threads.messages.list(thread.id, limit=1).data[0].content[0].text.value == "All good"
    assert_store_consistent()
    assert_user_messages_intact(thread.id, said)
    client.close()


# --- the server process dies -----------------------------------------------------------------

@pytest.mark.slow
def test_a_server_killed_mid_run_comes_back_with_every_run_accounted_for(transactional_db, alice, fake_openai):
    fake_openai.push(ToolCalls([("lookup", "{}")]), Reply(words("slowly " * 200), delay=0.05))
    env = {**database_env_for_subprocess(), "ENTITIES_RUN_LEASE_SECONDS": "2", "ENTITIES_SWEEP_INTERVAL_SECONDS": "0.3",
           "OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "t"}
    said = {"paused": _unique("call the tool"), "streaming": _unique("tell me everything")}

    with EntitiesProcess(env=env) as first:
        client = openai.OpenAI(base_url=first.v1, api_key=alice.api_key, max_retries=0, timeout=10)
        assistant = client.beta.assistants.create(model="cloud/fake-model", tools=[CLIENT_TOOL])
        threads = {k: client.beta.threads.create(messages=[{"role": "user", "content": v}]) for k, v in said.items()}
        paused = client.beta.threads.runs.create_and_poll(thread_id=threads["paused"].id, assistant_id=assistant.id,
                                                          poll_interval_ms=20)
        streaming = client.beta.threads.runs.create(thread_id=threads["streaming"].id, assistant_id=assistant.id)
        deadline = time.monotonic() + 10
        while not Message.objects.filter(run_id=streaming.id, status="in_progress").exists():
            assert time.monotonic() < deadline, "the reply never started streaming"
            time.sleep(0.02)
        first.kill()
    assert paused.status == "requires_action"

    with EntitiesProcess(env=env, port=first.port) as second:
        client = openai.OpenAI(base_url=second.v1, api_key=alice.api_key, max_retries=0, timeout=10)
        deadline = time.monotonic() + 15
        while Run.objects.get(pk=streaming.id).status == "in_progress":
            assert time.monotonic() < deadline, "nobody ended the run of the killed process"
            time.sleep(0.05)
        ended = client.beta.threads.runs.retrieve(streaming.id, thread_id=threads["streaming"].id)
        # The paused run belonged to no process: it waits on, and continues on the new one.
        fake_openai.push(Reply(["Found", " it"]))
        call = paused.required_action.submit_tool_outputs.tool_calls[0].id
        resumed = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=paused.id, thread_id=threads["paused"].id, tool_outputs=[{"tool_call_id": call, "output": "42"}],
            poll_interval_ms=20)
        fake_openai.push(Reply(["Still", " here"]))
        fresh = client.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=20,
                                                        thread={"messages": [{"role": "user", "content": "again?"}]})

    assert (ended.status, ended.last_error.message) == ("failed", OWNER_LOST_ERROR)
    assert (resumed.status, fresh.status) == ("completed", "completed")
    assert_store_consistent()
    for key, text in said.items():
        assert_user_messages_intact(threads[key].id, [text])


# --- the database goes away for a moment -------------------------------------------------------

def _terminate_postgres_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return len(cursor.fetchall())


def _lock_sqlite_file(seconds: float) -> threading.Thread:
    """Hold SQLite's write lock for ``seconds`` from another connection (writers wait, readers go on)."""
    path = connection.settings_dict["NAME"]
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, timeout=20, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        other.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=hold, name="sqlite-lock")
    holder.start()
    assert locked.wait(10)
    return holder


def _burst(live, person, thread_id: str, run_id: str, stop: threading.Event) -> list[httpx.Response]:
    """Reads and writes from 6 clients until ``stop``: the API must answer 200 or 503, never 500."""
    paths = [("GET", f"/threads/{thread_id}", None), ("GET", f"/threads/{thread_id}/messages", None),
             ("GET", f"/threads/{thread_id}/runs/{run_id}", None), ("POST", "/threads", {"metadata": {"burst": "1"}}),
             ("GET", "/assistants", None)]

    def client_loop(number: int) -> list[httpx.Response]:
        answers = []
        with httpx.Client(base_url=live.v1, headers=person.headers, timeout=30) as client:
            i = number
            while not stop.is_set():
                method, path, body = paths[i % len(paths)]
                answers.append(client.request(method, path, json=body))
                i += 1
        return answers

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        return [a for answers in pool.map(client_loop, range(6)) for a in answers]


def _ride_out(live, person, fake, interrupt) -> list[httpx.Response]:
    """A run streaming and a burst of requests while ``interrupt()`` takes the database away."""
    client = sdk_for(live, person)
    assistant = client.beta.assistants.create(model="cloud/fake-model")
    said = _unique("through the outage")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": said}])
    fake.push(Reply(words("steady " * 40), delay=0.05))
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        burst = pool.submit(_burst, live, person, thread.id, run.id, stop)
        time.sleep(0.3)
        interrupt()
        time.sleep(1.0)
        stop.set()
        answers = burst.result(timeout=60)

    statuses = {a.status_code for a in answers}
    unavailable = [a for a in answers if a.status_code == 503]
    assert len(answers) > 10 and statuses <= {200, 503}, sorted(statuses)
    assert all(a.json() == DB_UNAVAILABLE and a.headers["Retry-After"] == "1" for a in unavailable)
    assert_store_consistent(timeout=20, unique_user_texts=False)
    ended = Run.objects.get(pk=run.id)
    assert ended.status in ("completed", "failed"), ended.status
    assert_user_messages_intact(thread.id, [said])
    # And the server serves again: requests and a fresh run (the health check: see below).
    assert {httpx.get(f"{live.v1}/threads/{thread.id}", headers=person.headers).status_code for _ in range(5)} == {200}
    fake.push(Reply(["Back"]))
    fresh = client.beta.threads.create_and_run_poll(assistant_id=assistant.id, poll_interval_ms=20,
                                                    thread={"messages": [{"role": "user", "content": "still there?"}]})
    assert fresh.status == "completed"
    client.close()
    return answers


@pytest.mark.slow
@pytest.mark.services
def test_requests_and_runs_ride_out_terminated_database_connections(live_entities, alice, cloud):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connections to terminate; the locked-file case covers SQLite")
    terminated = []

    def interrupt() -> None:
        for _ in range(5):  # several times, so requests in flight and idle engine connections are both hit
            terminated.append(_terminate_postgres_connections())
            time.sleep(0.1)

    _ride_out(live_entities, alice, cloud, interrupt)
    assert sum(terminated) > 0


@pytest.mark.services
def test_the_health_check_recovers_once_the_database_is_back(live_entities):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connections to terminate")
    for _ in range(8):  # the worker threads open their connections
        httpx.get(f"{live_entities.url}/healthz", timeout=10)
    assert _terminate_postgres_connections() > 0
    time.sleep(0.2)

    checks = [httpx.get(f"{live_entities.url}/healthz", timeout=10).status_code for _ in range(12)]

    assert checks[-8:] == [200] * 8, checks


@pytest.mark.slow
def test_requests_and_runs_ride_out_a_locked_sqlite_database(live_entities, alice, cloud):
    if connection.vendor != "sqlite":
        pytest.skip("the database is PostgreSQL here: the terminated-connections case covers it")
    holders = []
    answers = _ride_out(live_entities, alice, cloud, lambda: holders.append(_lock_sqlite_file(1.0)))
    for holder in holders:
        holder.join(10)
    # Writers waited for the lock (SQLite's busy timeout) and then succeeded.
    assert max(a.elapsed.total_seconds() for a in answers if a.request.method == "POST") > 0.5


# --- a race found by the soak ------------------------------------------------------------------

@pytest.fixture
def quick_lease_loop(request, transactional_db):
    """A live server whose lease renewal loop ticks every 0.2 s (its interval is read at start)."""
    with override_settings(ENTITIES_RUN_LEASE_SECONDS=0.6):
        yield request.getfixturevalue("live_entities")


def test_a_lease_renewal_during_a_runs_last_write_does_not_rewrite_its_ending(quick_lease_loop, alice, monkeypatch):
    from conversations.engine import store

    finish_run = store.finish_run

    def slow_finish_run(*args, **kwargs):
        ended = finish_run(*args, **kwargs)
        time.sleep(0.6)  # stored, but the executor has not seen its own write yet: a lease tick comes
        return ended

    monkeypatch.setattr(store, "finish_run", slow_finish_run)
    client = sdk_for(quick_lease_loop, alice)
    assistant = client.beta.assistants.create(model="demo/echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])

    names, final = _streamed(client, thread.id, assistant.id)
    client.close()

    assert Run.objects.get(pk=final.id).status == "completed"
    assert (names[-1], final.status) == ("thread.run.completed", "completed")
