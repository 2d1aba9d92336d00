"""The chat UI in a real browser: signing in, a wrong password, signing out."""

from __future__ import annotations

import re

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import PASSWORD, expect, last_reply, send, shot, wait_for_run
from testsupport.factories import make_assistant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# --- signing in ----------------------------------------------------------------------------


def test_it_signs_in_shows_the_empty_state_and_signs_out(open_page, person):
    make_assistant(person, name="Helper", model="demo/echo")
    page = open_page("/", signed_in=False)

    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "login")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="How can I help today?")).to_be_visible()
    expect(page.locator("#empty-assistant")).to_have_text("Helper")
    expect(page.locator("#backend .backend-badge")).to_contain_text("Demo backend")
    expect(page.locator("#demo-note")).to_be_visible()
    shot(page, "empty", docs=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_a_fresh_install_signs_in_and_chats_without_creating_anything(open_page, person):
    assert not person.assistants.exists()
    page = open_page("/", signed_in=False)
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # No model server here: the ready-made assistant is on the demo backend, and says so.
    expect(page.locator("#assistant-select option:checked")).to_have_text("Assistant")
    expect(page.locator("#backend .backend-badge")).to_contain_text("Demo backend")
    send(page, "Hello there")
    wait_for_run(page)
    expect(last_reply(page)).to_contain_text("Hello there")
    assert [(a.name, a.model) for a in person.assistants.all()] == [("Assistant", "demo/echo")]
    page.reload()
    page.locator("#app.ready").wait_for()
    assert person.assistants.count() == 1  # made once


def test_it_refuses_a_wrong_password(open_page):
    page = open_page("/login/", signed_in=False)
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
