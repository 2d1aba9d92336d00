"""The run's state machine has one home (``conversations/engine/state.py``), and a run
stopped in the loop tick it was started in does not stay behind."""

from __future__ import annotations

import ast
import asyncio
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import openai
import pytest
from django.utils import timezone

from conversations.engine import state
from conversations.models import Action, Message, Run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_for, …
from testsupport.factories import make_action, make_assistant, make_message, make_run, make_thread
from testsupport.scenarios import ToolCalls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
STATE_MODULE = ROOT / "conversations" / "engine" / "state.py"
SKIPPED_PARTS = {"tests", "migrations", ".venv", "node_modules", "testsupport", "bench", "scripts"}
RUN_STATUS_VALUES = {"queued", "requires_action", "cancelling", "cancelled", "expired"}
QUERY_WRITES = {"update", "create", "bulk_create", "get_or_create", "update_or_create", "bulk_update"}


# --- only the state module writes Run.status ------------------------------------------

def _source_files() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_PARTS and not d.startswith(".")]
        found += [Path(folder) / f for f in files if f.endswith(".py")]
    return found


def _mentions_run(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return "Run." in text or text.startswith("Run") or ".runs" in text or "run" in text.split(".")[0].lower()


def _status_writes(path: Path) -> list[str]:
    """Places in ``path`` that look like a write of a run's status (generous on purpose)."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, receiver = node.func.attr, node.func.value
            keywords = {k.arg for k in node.keywords}
            if name in QUERY_WRITES and "status" in keywords and _mentions_run(receiver):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
            not_a_run = any(word in ast.unparse(receiver).lower() for word in ("action", "message"))
            if name == "save" and not not_a_run and any(
                    k.arg == "update_fields" and "status" in ast.unparse(k.value) for k in node.keywords):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for element in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if not (isinstance(element, ast.Attribute) and element.attr == "status"):
                        continue
                    value = ast.unparse(node.value) if node.value is not None else ""
                    run_value = "Run.Status" in value or any(f'"{s}"' in value for s in RUN_STATUS_VALUES)
                    if run_value or "run" in ast.unparse(element.value).lower():
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_only_the_state_module_writes_a_runs_status():
    writes = [w for path in _source_files() if path != STATE_MODULE for w in _status_writes(path)]

    assert writes == [], "Run.status written outside conversations/engine/state.py:\n" + "\n".join(writes)


def test_the_scan_finds_the_writes_it_is_meant_to_find(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "Run.objects.filter(pk=1).update(status='failed')\n"
        "current.status, current.cancelled_at = Run.Status.CANCELLED, now\n"
        "executor.run.status = 'cancelling'\n"
        "current.save(update_fields=['status'])\n"
        "thread.runs.create(status='queued')\n"
        "action.save(update_fields=['status'])\n"  # not a run: allowed
        "action.status = Action.Status.COMPLETED\n"  # not a run: allowed
        "Message.objects.filter(pk=1).update(status='incomplete')\n"  # not a run: allowed
    )
    original_root = globals()["ROOT"]
    globals()["ROOT"] = tmp_path
    try:
        assert sorted(w.split(":")[1] for w in _status_writes(sample)) == ["1", "2", "3", "4", "5"]
    finally:
        globals()["ROOT"] = original_root


# --- the state machine ------------------------------------------------------------------

def test_the_transitions_are_the_assistants_lifecycle():
    assert Run.TRANSITIONS == {
        "queued": {"in_progress", "cancelling", "failed", "expired"},
        "in_progress": {"requires_action", "cancelling", "completed", "incomplete", "failed", "expired"},
        "requires_action": {"queued", "cancelled", "failed", "expired"},
        "cancelling": {"cancelled", "completed", "incomplete", "failed", "expired"},
    }
    assert state.sources("cancelled") == {"cancelling", "requires_action"}
    with pytest.raises(state.TransitionNotAllowed):
        state.sources("completed", only_from={"queued"})
    with pytest.raises(state.TransitionNotAllowed):
        state.end_run("run_x", "in_progress")


@pytest.mark.django_db
def test_a_move_the_machine_has_not_is_a_conditional_update_that_changes_nothing(alice):
    run = make_run(make_thread(alice.user), make_assistant(alice.user), status="completed")

    assert state.request_cancel(run.pk) is False
    assert state.claim(run.pk, owner="me", lease_seconds=5) is None
    assert state.end_run(run.pk, "failed") is None
    assert Run.objects.get(pk=run.pk).status == "completed"


@pytest.mark.django_db
def test_ending_a_run_does_the_whole_ending_at_once(alice):
    thread = make_thread(alice.user)
    thread.updated_at = timezone.now() - timedelta(days=1)
    thread.save(update_fields=["updated_at"])
    run = make_run(thread, make_assistant(alice.user), status="in_progress", lease_owner="host:1:abc",
                   lease_expires_at=timezone.now())
    partial = make_message(thread, role="assistant", text="Half a repl", status="in_progress", run=run)
    action = make_action(run, status="pending")

    ended = state.end_run(run.pk, "failed", last_error={"code": "server_error", "message": "gone"})

    assert (ended.status, ended.lease_owner, ended.lease_expires_at, ended.required_action) == ("failed", "", None, None)
    assert ended.failed_at is not None and ended.usage == state.ZERO_USAGE
    partial.refresh_from_db()
    assert (partial.status, partial.incomplete_details, partial.text()) == ("incomplete", {"reason": "run_failed"},
                                                                           "Half a repl")
    assert Action.objects.get(pk=action.pk).status == "expired"
    thread.refresh_from_db()
    assert thread.updated_at >= ended.failed_at


# --- the race: stopped in the tick it started ---------------------------------------------

def _settle(loop: asyncio.AbstractEventLoop, run_id: str, runtime, timeout: float = 10.0) -> None:
    async def gone() -> None:
        async with asyncio.timeout(timeout):
            while run_id in runtime.executors:
                await asyncio.sleep(0.01)

    loop.run_until_complete(gone())


@pytest.mark.parametrize("stored", [False, True], ids=["unknown-run", "stored-run"])
def test_a_run_stopped_in_the_tick_it_started_leaves_nothing_behind(transactional_db, alice, stored):
    from conversations.engine.runtime import runtime

    run_id = "run_x"
    if stored:
        run = make_run(make_thread(alice.user), make_assistant(alice.user), status="queued")
        assert state.request_cancel(run.pk)  # what run_cancel stores before it asks the engine to stop
        run_id = run.pk
    loop = asyncio.new_event_loop()
    try:
        runtime.bind(loop)
        runtime._start(run_id)
        runtime._stop(run_id, "cancelled")  # same tick: the task has not taken its first step
        _settle(loop, run_id, runtime)
        assert run_id not in runtime.executors
        if stored:
            assert Run.objects.get(pk=run_id).status == "cancelled"
    finally:
        loop.run_until_complete(runtime.shutdown(timeout=5))
        loop.close()


def test_a_task_cancelled_before_its_first_step_is_still_cleaned_up(transactional_db):
    from conversations.engine.runtime import runtime

    loop = asyncio.new_event_loop()
    try:
        runtime.bind(loop)
        runtime._start("run_y")
        runtime.executors["run_y"][0].cancel()  # e.g. the server shutting down
        _settle(loop, "run_y", runtime)
        assert "run_y" not in runtime.executors
    finally:
        loop.run_until_complete(runtime.shutdown(timeout=5))
        loop.close()


# --- the race through the API -------------------------------------------------------------

ROUNDS = 200


@pytest.mark.slow
def test_concurrent_submits_and_a_cancel_never_leave_a_run_stuck(live_entities, sdk, cloud):
    from conversations.engine.runtime import runtime

    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[WEATHER_TOOL])
    outcomes: dict[str, int] = {}
    for round_number in range(ROUNDS):
        cloud.push(ToolCalls([("get_weather", '{"city": "Oslo"}')]))
        thread = sdk.beta.threads.create(messages=[{"role": "user", "content": f"Weather? ({round_number})"}])
        run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                    poll_interval_ms=10)
        assert run.status == "requires_action", (round_number, run.status, run.last_error)
        call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
        barrier = threading.Barrier(3, timeout=10)

        def submit():
            barrier.wait()
            try:
                sdk.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id,
                                                          tool_outputs=[{"tool_call_id": call_id, "output": "sunny"}])
            except openai.BadRequestError:
                pass  # the other submit or the cancel came first

        def cancel():
            barrier.wait()
            try:
                sdk.beta.threads.runs.cancel(run.id, thread_id=thread.id)
            except openai.BadRequestError:
                pass  # already ended (the submit's continuation finished first)

        workers = [threading.Thread(target=f) for f in (submit, submit, cancel)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(15)
        ended = wait_for(sdk, run, TERMINAL, timeout=10)
        outcomes[ended.status] = outcomes.get(ended.status, 0) + 1
        wait_until(lambda: run.id not in runtime.executors, timeout=5, what=f"round {round_number}: executor gone")
        # The thread takes a new run: nothing holds it.
        assert not Run.objects.filter(thread_id=thread.id, status__in=state.ACTIVE).exists()
        assert not Message.objects.filter(run_id=run.id, status="in_progress").exists()
    assert sum(outcomes.values()) == ROUNDS
    assert set(outcomes) <= {"cancelled", "completed"}, outcomes
