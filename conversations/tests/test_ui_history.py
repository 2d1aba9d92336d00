"""The chat page's thread snapshot (GET /ui/threads/<id>/history, selectors.thread_chat_history):
the transcript in the server's order, each run's steps, and which runs a regenerate replaced."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Message, Run
from conversations.selectors import thread_chat_history
from conversations.services.chat import chat_regenerate, chat_turn_start
from testsupport.factories import make_action, make_assistant, make_message, make_run, make_thread, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana():
    return make_user("dana")


@pytest.fixture
def client_for(dana) -> Client:
    client = Client()
    client.force_login(dana)
    return client


def history(client: Client, thread_id: str) -> dict:
    response = client.get(f"/ui/threads/{thread_id}/history")
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    return response.json()


def finish(run: Run, status: str, text: str | None = None) -> None:
    """What the engine leaves behind: the run's status and, if it replied, its message."""
    Run.objects.filter(pk=run.pk).update(status=status)
    if text is not None:
        make_message(run.thread, role="assistant", text=text, run=run, assistant_id=run.assistant_id)


def kinds(snapshot: dict) -> list:
    return [(item["type"], item["message"]["id"]) if item["type"] == "user"
            else (item["type"], item["run"] and item["run"]["id"], item["superseded"], item["replaced_by_run_id"])
            for item in snapshot["items"]]


def test_a_regenerated_reply_is_marked_replaced_and_superseded(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    message, first = chat_turn_start(thread=thread, assistant=assistant, text="Hi")
    finish(first, "completed", "The first answer")
    second = chat_regenerate(thread=thread, assistant=assistant)  # drops the first answer
    finish(second, "completed", "The second answer")

    snapshot = history(client_for, thread.id)

    assert snapshot["object"] == "chat.history" and snapshot["thread_id"] == thread.id and snapshot["has_more"] is False
    assert kinds(snapshot) == [("user", message.id), ("run", first.id, True, second.id), ("run", second.id, False, None)]
    shown = snapshot["items"][2]
    assert [m["content"][0]["text"]["value"] for m in shown["messages"]] == ["The second answer"]
    assert shown["run"]["object"] == "thread.run" and shown["messages"][0]["object"] == "thread.message"


def test_a_failed_run_shows_until_a_regenerate_replaces_it_and_an_active_run_always_shows(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    _, failed = chat_turn_start(thread=thread, assistant=assistant, text="Hello?")
    finish(failed, "failed")
    assert kinds(history(client_for, thread.id))[1] == ("run", failed.id, False, None)

    retry = chat_regenerate(thread=thread, assistant=assistant)  # still queued: active
    assert kinds(history(client_for, thread.id))[1:] == [("run", failed.id, True, retry.id), ("run", retry.id, False, None)]

    finish(retry, "failed")
    user, later = chat_turn_start(thread=thread, assistant=assistant, text="Once more")
    # A new user message starts a new turn: the retry is not replaced by the next turn's run.
    assert kinds(history(client_for, thread.id))[2:] == [("run", retry.id, False, None), ("user", user.id), ("run", later.id, False, None)]


def test_replies_that_kept_their_messages_are_never_superseded(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    make_message(thread, text="Two runs for one message (the API allows it)")
    one, two = make_run(thread, assistant), make_run(thread, assistant)
    make_message(thread, role="assistant", text="one", run=one)
    make_message(thread, role="assistant", text="two", run=two)

    assert [entry[1:] for entry in kinds(history(client_for, thread.id))[1:]] == [(one.id, False, two.id), (two.id, False, None)]


def test_it_carries_tool_steps_and_messages_added_without_a_run(client_for, dana):
    assistant = make_assistant(dana, tools=[{"type": "function", "function": {"name": "get_flight_times"}}])
    thread = make_thread(dana)
    make_message(thread, text="Flights?")
    run = make_run(thread, assistant, tools=[{"type": "function", "function": {"name": "get_flight_times"}}])
    make_action(run, output='{"duration": "5h 30m"}', status="completed")
    make_message(thread, role="assistant", text="5h 30m", run=run)
    orphan = make_message(thread, role="assistant", text="Added through the API")

    items = history(client_for, thread.id)["items"]

    steps = items[1]["steps"]
    assert [step["type"] for step in steps] == ["tool_calls", "message_creation"]
    assert steps[0]["step_details"]["tool_calls"][0]["function"]["output"] == '{"duration": "5h 30m"}'
    assert (items[2]["run"], [m["id"] for m in items[2]["messages"]], items[2]["superseded"]) == (None, [orphan.id], False)


def test_it_keeps_to_the_latest_messages_and_their_runs(dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    old = make_run(thread, assistant)
    make_message(thread, text="old question")
    make_message(thread, role="assistant", text="old answer", run=old)
    recent = make_message(thread, text="new question")
    run = make_run(thread, assistant)
    make_message(thread, role="assistant", text="new answer", run=run)

    entries, has_more = thread_chat_history(thread=thread, limit=2)

    assert has_more is True
    assert [(e["type"], e.get("message", e.get("run")).id) for e in entries] == [("user", recent.id), ("run", run.id)]
    assert [m.text() for m in entries[1]["messages"]] == ["new answer"]
    assert Message.objects.filter(thread=thread).count() == 4


def test_other_peoples_threads_and_unknown_ids_are_404_and_anonymous_is_401(client_for, dana):
    theirs = make_thread(make_user("erin"))
    for thread_id in (theirs.id, "thread_nope"):
        response = client_for.get(f"/ui/threads/{thread_id}/history")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    anonymous = Client().get(f"/ui/threads/{theirs.id}/history")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert client_for.post(f"/ui/threads/{theirs.id}/history").status_code == 405
