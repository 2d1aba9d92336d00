"""Database writes per run stay at the edges: they do not grow with the reply's length.

Counted on every connection (the engine writes from worker threads), from the request
that creates the run until the engine is done with it. Lease renewals are counted apart:
one statement per process every ENTITIES_RUN_LEASE_SECONDS / 3 for all its runs, so they
follow the run's duration, never its length.
"""

from __future__ import annotations

import re
import time

import pytest

from conversations.models import Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_until, …
from testsupport.db_counter import WriteCounter
from testsupport.scenarios import Reply, ToolCalls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_WRITES_PER_SIMPLE_RUN = 12
LEASE_RENEWAL = re.compile(r'^UPDATE "conversations_run" SET "lease_expires_at" = %s WHERE')


def _engine_busy(run_id: str) -> bool:
    from conversations.engine.runtime import runtime

    return runtime.is_local(run_id)


def _one_run(sdk, assistant, cloud, *scenarios) -> tuple[list[str], list[str], Run, float]:
    """(edge writes, lease renewals, the finished run, seconds it took)."""
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "Tell me a long story."}])
    cloud.push(*scenarios)
    started = time.monotonic()
    with WriteCounter() as writes:
        run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        # Watch the database, not the API: polling must not be what moves the run.
        stored = wait_until(lambda: Run.objects.filter(pk=run.id, status__in=TERMINAL).first(), what="run ended")
        wait_until(lambda: not _engine_busy(run.id), what="engine done with the run")
    took = time.monotonic() - started
    leases = [s for s in writes.statements if LEASE_RENEWAL.match(s)]
    edges = [s for s in writes.statements if not LEASE_RENEWAL.match(s)]
    return edges, leases, stored, took


def _summary(statements: list[str]) -> str:
    counter = WriteCounter()
    counter.statements = statements
    return counter.report()


def test_it_writes_the_same_few_rows_for_a_short_and_a_long_reply(live_entities, sdk, cloud, capsys):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    sdk.beta.threads.runs.list(thread_id=sdk.beta.threads.create().id)  # the key's last_used_at is written once

    short, short_leases, short_run, short_took = _one_run(sdk, assistant, cloud, Reply(["word "] * 20))
    long, long_leases, long_run, long_took = _one_run(sdk, assistant, cloud, Reply(["word "] * 2000))

    with capsys.disabled():
        print(f"\nDB writes per run: 20 tokens → {len(short)} + {len(short_leases)} lease renewals in {short_took:.2f} s "
              f"({_summary(short)}); 2,000 tokens → {len(long)} + {len(long_leases)} lease renewals in "
              f"{long_took:.2f} s ({_summary(long)})")
    assert (short_run.status, long_run.status) == ("completed", "completed")
    assert (short_run.usage["completion_tokens"], long_run.usage["completion_tokens"]) == (20, 2000)
    assert Message.objects.get(run_id=long_run.id).text() == "word " * 2000
    assert _summary(short) == _summary(long)
    assert len(short) <= MAX_WRITES_PER_SIMPLE_RUN, _summary(short)
    renew_every = max(3 / 3, 0.2)  # ENTITIES_RUN_LEASE_SECONDS=3 in the test environment
    assert len(long_leases) <= long_took / renew_every + 1


def test_it_writes_a_bounded_number_of_rows_for_a_tool_round(live_entities, sdk, cloud, capsys):
    from inference.registry import register_function

    @register_function(name="engine_writes_lookup", parameters={"type": "object", "properties": {}})
    def lookup() -> dict:
        return {"ok": True}

    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{**function_tool("engine_writes_lookup"), "server_side": True}])
    sdk.beta.threads.runs.list(thread_id=sdk.beta.threads.create().id)

    edges, _, run, _ = _one_run(sdk, assistant, cloud, ToolCalls([("engine_writes_lookup", "{}")]), Reply(["done"]))

    with capsys.disabled():
        print(f"\nDB writes for a run with one server-side tool round: {len(edges)} ({_summary(edges)})")
    assert run.status == "completed"
    # The tool round adds: the actions (one bulk insert) and their outcomes (one update each).
    assert len(edges) <= MAX_WRITES_PER_SIMPLE_RUN + 2, _summary(edges)
