"""The admin pages for threads, messages, runs and actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import Action, Message, Run, Thread
from testsupport.factories import make_action, make_assistant, make_message, make_run, make_thread, make_user

pytestmark = pytest.mark.django_db

MODELS = ("thread", "message", "run", "action")


def url(name: str, *args) -> str:
    return reverse(f"admin:conversations_{name}", args=[quote(a) for a in args])


@pytest.fixture
def alice():
    return make_user("alice")


@pytest.fixture
def story(alice):
    """One of each: a thread with a question, a completed run with a tool call, and its reply."""
    assistant = make_assistant(alice)
    thread = make_thread(alice, title="Flights to LA")
    question = make_message(thread, text="When does the flight from NYC leave?")
    run = make_run(thread, assistant, usage={"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
                   last_error={"code": "server_error", "message": "no model server answered at http://127.0.0.1:11434"})
    action = make_action(run, status="completed", output='{"departure": "08:00"}' + "x" * 300)
    answer = make_message(thread, role="assistant", text="It leaves at 08:00.", run=run, assistant_id=assistant.id)
    return {"assistant": assistant, "thread": thread, "message": question, "answer": answer, "run": run,
            "action": action}


def test_it_renders_every_changelist_and_change_page(admin_client, story):
    for model in MODELS:
        obj = story[model]
        for page in (url(f"{model}_changelist"), url(f"{model}_change", obj.pk), url(f"{model}_history", obj.pk)):
            response = admin_client.get(page)
            assert response.status_code == 200, page
        assert obj.pk in admin_client.get(url(f"{model}_changelist")).content.decode(), model


def test_it_offers_an_add_page_only_for_threads(admin_client):
    assert admin_client.get(url("thread_add")).status_code == 200
    for model in ("message", "run", "action"):
        assert admin_client.get(url(f"{model}_add")).status_code == 403, model


def test_it_offers_deletion_of_threads_and_messages_only(admin_client, story):
    assert admin_client.get(url("thread_delete", story["thread"].pk)).status_code == 200
    assert admin_client.get(url("message_delete", story["message"].pk)).status_code == 200
    for model in ("run", "action"):
        assert admin_client.get(url(f"{model}_delete", story[model].pk)).status_code == 403, model


def test_it_shows_a_threads_messages_and_runs_inline(admin_client, story):
    html = admin_client.get(url("thread_change", story["thread"].pk)).content.decode()

    for obj in (story["message"], story["answer"], story["run"]):
        assert url(f"{obj._meta.model_name}_change", obj.pk) in html
    assert "When does the flight from NYC leave?" in html and "It leaves at 08:00." in html


def test_it_shows_a_runs_outcome_as_formatted_json_and_its_actions(admin_client, story):
    run, action = story["run"], story["action"]

    html = admin_client.get(url("run_change", run.pk)).content.decode()

    assert '&quot;total_tokens&quot;: 19' in html
    assert "no model server answered at http://127.0.0.1:11434" in html
    assert url("action_change", action.pk) in html and "get_flight_times" in html
    assert "x" * 300 not in html  # the output is cut short inline
    assert reverse("admin:assistants_assistant_change", args=[quote(run.assistant_id)]) in html


def test_it_shows_an_action_whole_on_its_own_page(admin_client, story):
    html = admin_client.get(url("action_change", story["action"].pk)).content.decode()

    assert "x" * 300 in html
    assert 'name="_save"' not in html


def test_it_creates_a_thread_from_the_add_page(admin_client, alice):
    response = admin_client.post(url("thread_add"), {
        "owner": alice.pk, "title": "Made here", "metadata": '{"k": "v"}', "tool_resources": "{}",
        "messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "0",
        "runs-TOTAL_FORMS": "0", "runs-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302
    thread = Thread.objects.get()
    assert (thread.owner, thread.title, thread.metadata) == (alice, "Made here", {"k": "v"})
    assert thread.id.startswith("thread_")


def test_it_changes_a_threads_title_but_not_its_owner(admin_client, story):
    thread = story["thread"]

    response = admin_client.post(url("thread_change", thread.pk), {
        "owner": make_user("bob").pk, "title": "Renamed", "metadata": "{}", "tool_resources": "{}",
        "messages-TOTAL_FORMS": "0", "messages-INITIAL_FORMS": "0",
        "runs-TOTAL_FORMS": "0", "runs-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302
    thread.refresh_from_db()
    assert (thread.title, thread.owner.username) == ("Renamed", "alice")


def test_it_changes_only_the_metadata_of_a_run(admin_client, story):
    run = story["run"]

    response = admin_client.post(url("run_change", run.pk), {
        "metadata": '{"ticket": "42"}', "status": "queued", "model": "other",
        "actions-TOTAL_FORMS": "0", "actions-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.metadata, run.status, run.model) == ({"ticket": "42"}, "completed", "demo/echo")


def test_it_deletes_a_thread_with_everything_in_it(admin_client, story):
    response = admin_client.post(url("thread_delete", story["thread"].pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Thread.objects.exists() and not Message.objects.exists() and not Run.objects.exists()
    assert not Action.objects.exists()


def test_it_cancels_the_selected_runs(admin_client, story):
    waiting = make_run(story["thread"], story["assistant"], status="requires_action", required_action={})
    make_action(waiting, client_side=True)
    done = story["run"]

    response = admin_client.post(url("run_changelist"), {
        "action": "cancel_runs", "_selected_action": [waiting.pk, done.pk]}, follow=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Asked 1 run(s) to stop." in html and "Cannot cancel run with status &#x27;completed&#x27;." in html
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert (waiting.status, done.status) == ("cancelled", "completed")
    assert list(waiting.actions.values_list("status", flat=True)) == ["expired"]


def _found(client, model: str, term: str, **filters) -> list:
    response = client.get(url(f"{model}_changelist"), {"q": term, **filters})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_it_finds_threads_by_id_title_owner_and_message_text(admin_client, story):
    thread = story["thread"]
    other = make_thread(make_user("bob"), title="Recipes")
    make_message(other, text="How long do I boil an egg?")

    assert _found(admin_client, "thread", thread.id) == [thread]
    assert _found(admin_client, "thread", "flights to") == [thread]
    assert _found(admin_client, "thread", "bob") == [other]
    assert _found(admin_client, "thread", "from NYC") == [thread]
    assert _found(admin_client, "thread", "LEAVES AT 08") == [thread]
    assert _found(admin_client, "thread", "boil an egg") == [other]
    assert _found(admin_client, "thread", "nothing like this") == []


def test_it_finds_message_text_with_accents_and_quotes(admin_client, alice):
    thread = make_thread(alice)
    make_message(thread, text='Un café "noir", s\'il vous plaît')
    make_message(make_thread(alice), text="Tea")

    assert _found(admin_client, "thread", "café") == [thread]
    assert _found(admin_client, "thread", '"noir"') == [thread]


def test_it_lists_each_thread_once_when_several_messages_match(admin_client, alice):
    thread = make_thread(alice)
    make_message(thread, text="hello there")
    make_message(thread, text="hello again")

    assert _found(admin_client, "thread", "hello") == [thread]


def test_it_finds_messages_by_id_thread_and_text(admin_client, story):
    question, answer, thread = story["message"], story["answer"], story["thread"]

    assert _found(admin_client, "message", question.id) == [question]
    assert set(_found(admin_client, "message", thread.id)) == {question, answer}
    assert _found(admin_client, "message", "08:00") == [answer]
    assert _found(admin_client, "message", "08:00", role="user") == []


def test_it_finds_runs_by_id_thread_and_assistant(admin_client, story):
    run = story["run"]
    other = make_run(make_thread(run.owner), make_assistant(run.owner))

    assert _found(admin_client, "run", run.id) == [run]
    assert _found(admin_client, "run", run.thread_id) == [run]
    assert _found(admin_client, "run", run.assistant_id) == [run]
    assert set(_found(admin_client, "run", "", status="completed")) == {run, other}


def test_it_finds_actions_by_id_function_and_run(admin_client, story):
    action = story["action"]
    other = make_action(story["run"], function_name="getAnnouncedPrefixes", tool_type="function")

    assert _found(admin_client, "action", action.id) == [action]
    assert _found(admin_client, "action", "announced") == [other]
    assert set(_found(admin_client, "action", story["run"].id)) == {action, other}
    assert _found(admin_client, "action", "", status="pending") == [other]


def test_it_forbids_staff_without_permissions(client, story):
    client.force_login(make_user("clerk", is_staff=True))

    for model in MODELS:
        assert client.get(url(f"{model}_changelist")).status_code == 403, model
        assert client.get(url(f"{model}_change", story[model].pk)).status_code == 403, model


def test_it_lets_a_run_viewer_look_but_not_touch(client, story):
    run = story["run"]
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_run"))
    client.force_login(viewer)

    assert _found(client, "run", "") == [run]
    html = client.get(url("run_change", run.pk)).content.decode()
    assert "no model server answered" in html
    assert 'name="_save"' not in html and 'name="metadata"' not in html
    assert "get_flight_times" not in html  # no view_action: the actions stay hidden
    posted = client.post(url("run_change", run.pk), {"metadata": '{"x": 1}', "actions-TOTAL_FORMS": "0",
                                                       "actions-INITIAL_FORMS": "0"})
    assert posted.status_code == 403
    assert client.get(url("thread_changelist")).status_code == 403
    cancel = client.post(url("run_changelist"), {"action": "cancel_runs", "_selected_action": [run.pk]})
    assert cancel.status_code == 200  # the action is not offered; the list is shown again
    run.refresh_from_db()
    assert (run.metadata, run.status) == ({}, "completed")


def _rows(start: int, count: int) -> None:
    """``count`` users, each with a thread holding a run, a message and an action."""
    for i in range(start, start + count):
        owner = make_user(f"user{i}")
        assistant, thread = make_assistant(owner), make_thread(owner)
        run = make_run(thread, assistant)
        make_message(thread, run=run)
        make_action(run)


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_without_a_query_per_row(admin_client, django_assert_max_num_queries, model):
    _rows(0, 1)
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url(f"{model}_changelist"))
    _rows(1, 10)

    with django_assert_max_num_queries(len(one_row)):
        assert admin_client.get(url(f"{model}_changelist")).status_code == 200
