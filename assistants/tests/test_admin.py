"""The admin pages for assistants and API keys."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assistants.keys import api_key_create
from assistants.models import ApiKey, Assistant
from testsupport.factories import make_assistant, make_user

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:assistants_{name}", args=[quote(a) for a in args])


@pytest.fixture
def alice():
    return make_user("alice")


def test_it_lists_every_model_on_the_admin_index(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    for model in ("assistants/assistant", "assistants/apikey", "conversations/thread", "conversations/message",
                  "conversations/run", "conversations/action"):
        assert f"/admin/{model}/" in html, model


def test_it_renders_every_assistant_page(admin_client, alice):
    assistant = make_assistant(alice, name="Flight helper", instructions="Answer about flights.")

    for page in (url("assistant_changelist"), url("assistant_add"), url("assistant_change", assistant.pk),
                 url("assistant_history", assistant.pk), url("assistant_delete", assistant.pk)):
        response = admin_client.get(page)
        assert response.status_code == 200, page

    changelist = admin_client.get(url("assistant_changelist")).content.decode()
    assert assistant.id in changelist and "Flight helper" in changelist and "alice" in changelist


def test_it_creates_an_assistant_from_the_add_page(admin_client, alice):
    response = admin_client.post(url("assistant_add"), {
        "owner": alice.pk, "name": "Made here", "description": "", "model": "demo/echo",
        "instructions": "Be brief.", "tools": '[{"type": "code_interpreter"}]', "tool_resources": "{}",
        "response_format": '"auto"', "temperature": "0.5", "top_p": "", "reasoning_effort": "", "metadata": '{"a": "1"}',
    })

    assert response.status_code == 302
    made = Assistant.objects.get()
    assert made.id.startswith("asst_")
    assert (made.owner, made.name, made.model, made.instructions) == (alice, "Made here", "demo/echo", "Be brief.")
    assert (made.tools, made.metadata, made.temperature) == ([{"type": "code_interpreter"}], {"a": "1"}, 0.5)
    assert response["Location"] == url("assistant_changelist")


def test_it_changes_an_assistant_but_not_its_owner(admin_client, alice):
    assistant = make_assistant(alice)
    bob = make_user("bob")

    response = admin_client.post(url("assistant_change", assistant.pk), {
        "owner": bob.pk, "name": "Renamed", "description": "", "model": "local/llama3.1", "instructions": "",
        "tools": "[]", "tool_resources": "{}", "response_format": '"auto"', "temperature": "", "top_p": "",
        "reasoning_effort": "", "metadata": "{}",
    })

    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.name, assistant.model, assistant.owner) == ("Renamed", "local/llama3.1", alice)


def test_it_deletes_an_assistant(admin_client, alice):
    assistant = make_assistant(alice)

    response = admin_client.post(url("assistant_delete", assistant.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Assistant.objects.exists()


@pytest.mark.parametrize("term", ["Flight", "layovers", "alice"])
def test_it_searches_assistants_by_name_instructions_and_owner(admin_client, alice, term):
    wanted = make_assistant(alice, name="Flight helper", instructions="Mind the layovers.")
    other = make_assistant(make_user("bob"), name="Cook", instructions="Recipes only.")

    response = admin_client.get(url("assistant_changelist"), {"q": term})

    assert list(response.context["cl"].result_list) == [wanted]
    assert other.id not in response.content.decode()


def test_it_finds_an_assistant_by_the_start_of_its_id(admin_client, alice):
    wanted, _ = make_assistant(alice), make_assistant(alice)

    response = admin_client.get(url("assistant_changelist"), {"q": wanted.id[:14]})

    assert list(response.context["cl"].result_list) == [wanted]


def test_it_renders_every_api_key_page_without_the_digest(admin_client, alice):
    made = api_key_create(user=alice, name="laptop")
    key = made.key

    pages = [url("apikey_changelist"), url("apikey_change", key.pk), url("apikey_history", key.pk),
             url("apikey_delete", key.pk), f"{url('apikey_changelist')}?q=laptop", f"{url('apikey_changelist')}?active=yes"]
    for page in pages:
        response = admin_client.get(page)
        html = response.content.decode()
        assert response.status_code == 200, page
        assert key.digest not in html and made.raw not in html, page
        assert key.prefix in html, page

    change = admin_client.get(url("apikey_change", key.pk)).content.decode()
    assert 'name="digest"' not in change and 'name="prefix"' not in change and 'name="name"' in change


def test_it_offers_no_add_page_for_api_keys(admin_client):
    assert admin_client.get(url("apikey_add")).status_code == 403
    assert "create_api_key" in admin_client.get(url("apikey_changelist")).content.decode()


def test_it_renames_a_key_but_never_touches_its_secret(admin_client, alice):
    key = api_key_create(user=alice).key

    response = admin_client.post(url("apikey_change", key.pk), {"name": "ci", "digest": "0" * 64, "prefix": "x"})

    assert response.status_code == 302
    stored = ApiKey.objects.get()
    assert (stored.name, stored.digest, stored.prefix) == ("ci", key.digest, key.prefix)


def test_it_revokes_the_selected_keys(admin_client, alice):
    first, second, untouched = (api_key_create(user=alice, name=n).key for n in ("one", "two", "three"))

    response = admin_client.post(url("apikey_changelist"), {
        "action": "revoke_keys", "_selected_action": [first.pk, second.pk]}, follow=True)

    assert response.status_code == 200
    assert "Revoked 2 key(s)." in response.content.decode()
    revoked = {k.name: k.revoked_at is not None for k in ApiKey.objects.all()}
    assert revoked == {"one": True, "two": True, "three": False}


def test_it_filters_keys_by_whether_they_are_active(admin_client, alice):
    active = api_key_create(user=alice, name="active").key
    revoked = api_key_create(user=alice, name="revoked").key
    admin_client.post(url("apikey_changelist"), {"action": "revoke_keys", "_selected_action": [revoked.pk]})

    assert list(admin_client.get(url("apikey_changelist"), {"active": "yes"}).context["cl"].result_list) == [active]
    assert list(admin_client.get(url("apikey_changelist"), {"active": "no"}).context["cl"].result_list) == [revoked]


def test_it_forbids_staff_without_permissions(client, alice):
    make_assistant(alice)
    api_key_create(user=alice)
    client.force_login(make_user("clerk", is_staff=True))

    for name in ("assistant_changelist", "apikey_changelist", "assistant_add"):
        assert client.get(url(name)).status_code == 403, name


def _assistant_row(i: int) -> None:
    make_assistant(make_user(f"user{i}"))


def _key_row(i: int) -> None:
    api_key_create(user=make_user(f"user{i}"))


@pytest.mark.parametrize("name, add_row", [("assistant_changelist", _assistant_row), ("apikey_changelist", _key_row)])
def test_it_lists_without_a_query_per_row(admin_client, django_assert_max_num_queries, name, add_row):
    add_row(0)
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url(name))
    for i in range(1, 11):
        add_row(i)

    with django_assert_max_num_queries(len(one_row)):
        assert admin_client.get(url(name)).status_code == 200
