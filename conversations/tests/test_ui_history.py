"""The chat page's thread snapshot (GET /ui/threads/<id>/history, selectors.thread_chat_history):
the transcript in the server's order, each run's steps, and which runs a regenerate replaced."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Message, Run
from conversations.selectors import thread_chat_history
from conversations.services.chat import chat_edit, chat_regenerate, chat_turn_start
from kernel.errors import NotFound, RunStateConflict
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
    """Each entry as (type, id, the ids of the versions at its place)."""
    return [(item["type"], item["message"]["id"] if item["type"] == "user" else item["run"] and item["run"]["id"],
             item["versions"]["ids"]) for item in snapshot["items"]]


def texts(snapshot: dict) -> list[str]:
    return [m["content"][0]["text"]["value"] for item in snapshot["items"]
            for m in ([item["message"]] if item["type"] == "user" else item["messages"])]


def api_texts(client: Client, thread_id: str) -> list[str]:
    """What an API client sees: /v1's message list (oldest first)."""
    response = client.get(f"/v1/threads/{thread_id}/messages?order=asc")
    assert response.status_code == 200, response.content
    return [m["content"][0]["text"]["value"] for m in response.json()["data"]]


def select(client: Client, thread_id: str, version: str) -> dict:
    response = client.post(f"/ui/threads/{thread_id}/versions", data={"version": version}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_regenerate_keeps_the_earlier_answer_as_a_version(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    message, first = chat_turn_start(thread=thread, assistant=assistant, text="Hi")
    finish(first, "completed", "The first answer")
    second = chat_regenerate(thread=thread, assistant=assistant)
    finish(second, "completed", "The second answer")

    snapshot = history(client_for, thread.id)

    assert snapshot["object"] == "chat.history" and snapshot["thread_id"] == thread.id and snapshot["has_more"] is False
    assert kinds(snapshot) == [("user", message.id, [message.id]), ("run", second.id, [first.id, second.id])]
    assert snapshot["items"][1]["versions"]["index"] == 1
    assert texts(snapshot) == ["Hi", "The second answer"]
    assert api_texts(client_for, thread.id) == ["Hi", "The second answer"]  # the active branch only
    assert Message.all_objects.filter(thread=thread).count() == 3  # the first answer is kept

    back = select(client_for, thread.id, first.id)
    assert texts(back) == ["Hi", "The first answer"] and back["items"][1]["versions"]["index"] == 0
    assert api_texts(client_for, thread.id) == ["Hi", "The first answer"]
    assert texts(history(client_for, thread.id)) == ["Hi", "The first answer"]


def test_an_edit_starts_a_branch_and_each_version_keeps_what_followed_it(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    first_q, run = chat_turn_start(thread=thread, assistant=assistant, text="Name a fruit")
    finish(run, "completed", "Apple")
    second_q, run = chat_turn_start(thread=thread, assistant=assistant, text="Another")
    finish(run, "completed", "Pear")

    edited, run = chat_edit(thread=thread, assistant=assistant, message_id=first_q.id, text="Name a colour")
    finish(run, "completed", "Blue")

    snapshot = history(client_for, thread.id)
    assert texts(snapshot) == ["Name a colour", "Blue"]
    assert snapshot["items"][0]["versions"] == {"ids": [first_q.id, edited.id], "index": 1}
    assert api_texts(client_for, thread.id) == ["Name a colour", "Blue"]

    old = select(client_for, thread.id, first_q.id)
    assert texts(old) == ["Name a fruit", "Apple", "Another", "Pear"]
    assert old["items"][0]["versions"] == {"ids": [first_q.id, edited.id], "index": 0}
    assert api_texts(client_for, thread.id) == ["Name a fruit", "Apple", "Another", "Pear"]

    # Editing a later message of the old branch branches there; the first edit stays reachable.
    again, run = chat_edit(thread=thread, assistant=assistant, message_id=second_q.id, text="A red one")
    finish(run, "completed", "Cherry")
    assert texts(history(client_for, thread.id)) == ["Name a fruit", "Apple", "A red one", "Cherry"]
    assert texts(select(client_for, thread.id, edited.id)) == ["Name a colour", "Blue"]


def test_branch_changes_are_refused_while_a_run_is_active_and_for_unknown_ids(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    message, run = chat_turn_start(thread=thread, assistant=assistant, text="Hi")  # queued: active
    with pytest.raises(RunStateConflict):
        chat_edit(thread=thread, assistant=assistant, message_id=message.id, text="Hello")
    response = client_for.post(f"/ui/threads/{thread.id}/versions", data={"version": run.id}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_state"
    finish(run, "completed", "Hello!")
    for bad in ({"version": "run_nope"}, {"version": 7}, {}):
        response = client_for.post(f"/ui/threads/{thread.id}/versions", data=bad, content_type="application/json")
        assert response.status_code in (400, 404), response.content
        assert "error" in response.json()
    response = client_for.post(f"/ui/threads/{thread.id}/versions", data="[", content_type="application/json")
    assert response.status_code == 400
    with pytest.raises(NotFound):
        chat_edit(thread=thread, assistant=assistant, message_id="msg_nope", text="x")
    theirs = make_thread(make_user("fred"))
    assert client_for.post(f"/ui/threads/{theirs.id}/versions", data={"version": run.id},
                           content_type="application/json").status_code == 404


def test_a_failed_run_shows_until_a_regenerate_replaces_it_and_an_active_run_always_shows(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    _, failed = chat_turn_start(thread=thread, assistant=assistant, text="Hello?")
    finish(failed, "failed")
    assert kinds(history(client_for, thread.id))[1] == ("run", failed.id, [failed.id])

    retry = chat_regenerate(thread=thread, assistant=assistant)  # still queued: active
    assert kinds(history(client_for, thread.id))[1:] == [("run", retry.id, [retry.id])]

    finish(retry, "failed")
    user, later = chat_turn_start(thread=thread, assistant=assistant, text="Once more")
    # A new user message starts a new turn: the retry still shows in its own.
    assert kinds(history(client_for, thread.id))[1:] == [("run", retry.id, [retry.id]), ("user", user.id, [user.id]),
                                                         ("run", later.id, [later.id])]


def test_a_completed_run_that_left_no_message_is_left_out(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    _, run = chat_turn_start(thread=thread, assistant=assistant, text="Hi")
    finish(run, "completed")
    assert kinds(history(client_for, thread.id))[1:] == []


def test_replies_that_kept_their_messages_all_show(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana)
    make_message(thread, text="Two runs for one message (the API allows it)")
    one, two = make_run(thread, assistant), make_run(thread, assistant)
    make_message(thread, role="assistant", text="one", run=one)
    make_message(thread, role="assistant", text="two", run=two)

    assert [entry[1] for entry in kinds(history(client_for, thread.id))[1:]] == [one.id, two.id]


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
    assert (items[2]["run"], [m["id"] for m in items[2]["messages"]], items[2]["versions"]["ids"]) == (None, [orphan.id], [orphan.id])


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


def test_long_threads_page_back_with_a_cursor_to_their_first_message(client_for, dana):
    thread = make_thread(dana)
    for n in range(130):
        make_message(thread, role="user" if n % 2 == 0 else "assistant", text=f"m{n}")

    last = history(client_for, thread.id)
    assert last["has_more"] is True and len(last["items"]) == 100 and last["before"] == last["items"][0]["key"]
    first = client_for.get(f"/ui/threads/{thread.id}/history", {"before": last["before"]}).json()
    assert first["has_more"] is False and first["before"] is None
    assert texts(first) + texts(last) == [f"m{n}" for n in range(130)]

    bad = client_for.get(f"/ui/threads/{thread.id}/history", {"before": "msg_nope"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "before"


def test_a_chat_exports_its_active_branch_as_markdown_and_json(client_for, dana):
    assistant = make_assistant(dana)
    thread = make_thread(dana, title="Fruit talk")
    _, run = chat_turn_start(thread=thread, assistant=assistant, text="Name a **fruit**")
    finish(run, "completed", "Apple")
    finish(chat_regenerate(thread=thread, assistant=assistant), "completed", "Pear")

    md = client_for.get(f"/ui/threads/{thread.id}/export", {"format": "md"})
    assert md.status_code == 200 and md["Content-Type"].startswith("text/markdown")
    assert md["Content-Disposition"] == f'attachment; filename="{thread.id}.md"'
    body = md.content.decode()
    assert body.startswith("# Fruit talk\n") and "## You · " in body and "Name a **fruit**" in body
    assert "Pear" in body and "Apple" not in body  # the active branch
    data = client_for.get(f"/ui/threads/{thread.id}/export", {"format": "json"}).json()
    assert data["object"] == "chat.export" and data["thread"]["id"] == thread.id
    assert [m["content"][0]["text"]["value"] for m in data["messages"]] == ["Name a **fruit**", "Pear"]

    bad = client_for.get(f"/ui/threads/{thread.id}/export", {"format": "pdf"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "format"
    theirs = make_thread(make_user("otto"))
    assert client_for.get(f"/ui/threads/{theirs.id}/export").status_code == 404
    assert Client().get(f"/ui/threads/{thread.id}/export").status_code == 401


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
