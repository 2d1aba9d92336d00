"""Streaming replies are checkpointed: one write per process per ENTITIES_CHECKPOINT_SECONDS
for all of them (never a write per token), and the REST API serves the text so far."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings

from conversations.models import Message
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_for, …
from testsupport.db_counter import WriteCounter
from testsupport.scenarios import Reply, words

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHECKPOINT = re.compile(r"^\s*UPDATE\s+\"?conversations_message\"?\s+SET\s+\"?content\"?\s*=\s*CASE", re.IGNORECASE)


def _checkpoints(writes: WriteCounter) -> list[str]:
    return [sql for sql in writes.statements if CHECKPOINT.match(sql)]


def _start(sdk, text: str):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    return thread, sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)


def test_one_write_per_interval_saves_every_streaming_reply(live_entities, sdk, cloud):
    interval = settings.ENTITIES_CHECKPOINT_SECONDS
    full = "tick " * 60  # 60 chunks, 50 ms apart: about 3 s each
    cloud.push(Reply(words(full), delay=0.05), Reply(words(full), delay=0.05))

    with WriteCounter() as writes:
        started = time.monotonic()
        runs = [_start(sdk, "Count."), _start(sdk, "Count again.")]
        replies = [wait_until(lambda r=run: Message.objects.filter(run_id=r.id).first(), what="the reply")
                   for _, run in runs]

        # While both stream, the REST API shows each one's text so far.
        def both_partial():
            listed = [sdk.beta.threads.messages.list(thread_id=t.id, run_id=r.id).data[0] for t, r in runs]
            return listed if all(m.status == "in_progress" and text_of(m) for m in listed) else None

        listed = wait_until(both_partial, timeout=interval * 3, what="partial text over REST")
        assert all(full.startswith(text_of(m)) for m in listed)
        ended = [wait_for(sdk, run, TERMINAL, timeout=15) for _, run in runs]
        elapsed = time.monotonic() - started

    assert [r.status for r in ended] == ["completed", "completed"]
    checkpoints = _checkpoints(writes)
    # One statement per interval for the whole process, not one per run or per token.
    assert 1 <= len(checkpoints) <= elapsed / interval + 1, (len(checkpoints), elapsed)
    # (the counter sees the statement, not its parameters: one WHEN per message it saves)
    assert any(sql.upper().count(" WHEN ") == 2 for sql in checkpoints), "no checkpoint covered both runs"
    assert [Message.objects.get(pk=reply.pk).text() for reply in replies] == [full, full]


@pytest.mark.slow
def test_writes_per_run_for_a_twenty_second_reply(live_entities, sdk, cloud, capsys):
    full = "tick " * 400  # 400 chunks, 50 ms apart: 20 s
    cloud.push(Reply(words(full), delay=0.05))

    with WriteCounter() as writes:
        thread, run = _start(sdk, "Count for a while.")
        ended = wait_for(sdk, run, TERMINAL, timeout=60)

    assert ended.status == "completed"
    checkpoints = len(_checkpoints(writes))
    with capsys.disabled():
        print(f"\nDB writes for a 20-second reply (ENTITIES_CHECKPOINT_SECONDS={settings.ENTITIES_CHECKPOINT_SECONDS:g}, "
              f"lease {settings.ENTITIES_RUN_LEASE_SECONDS:g} s): {writes.count} in all, {checkpoints} checkpoints "
              f"({writes.report()})")
    assert 15 <= checkpoints <= 22
    assert Message.objects.get(run_id=run.id).text() == full
