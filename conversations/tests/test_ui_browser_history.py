"""The chat UI in a real browser: a thread drawn from the server's snapshot after a reload
shows what the live page showed — a regenerated reply once, the run it replaced not at all."""

from __future__ import annotations

import pytest

from conversations.models import Message, Run
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, wait_for_run
from testsupport.factories import make_assistant
from testsupport.live import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_regenerated_reply_shows_once_after_a_reload(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    send(page, "Say it twice")
    wait_for_run(page)
    first = last_reply(page).get_attribute("data-run-id")
    last_reply(page).get_by_role("button", name="Regenerate reply").click()
    expect(last_reply(page)).not_to_have_attribute("data-run-id", first)
    wait_for_run(page)

    page.reload()
    wait_for_run(page)

    newest = Run.objects.filter(thread__owner=person).order_by("-created_at").first()
    assert Run.objects.filter(thread__owner=person).count() == 2  # the replaced run is still stored
    expect(page.locator(".run")).to_have_count(1)
    expect(last_reply(page)).to_have_attribute("data-run-id", newest.id)
    expect(page.locator(".msg.assistant")).to_have_count(1)
    assert Message.objects.filter(thread__owner=person, role="assistant").get().run_id == newest.id


def test_a_failed_run_replaced_by_regenerate_is_left_out_after_a_reload(open_page, person, settings):
    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.LOCAL_OPENAI_BASE_URL = ""
    make_assistant(person, name="Local", model="local/llama3.1")
    page = open_page()
    send(page, "Hello?")
    wait_for_run(page, "failed")
    first = last_reply(page).get_attribute("data-run-id")
    last_reply(page).get_by_role("button", name="Regenerate reply").click()
    expect(last_reply(page)).not_to_have_attribute("data-run-id", first)
    wait_for_run(page, "failed")
    second = last_reply(page).get_attribute("data-run-id")
    expect(page.locator(".run")).to_have_count(1)

    page.reload()
    wait_for_run(page, "failed")

    expect(page.locator(".run")).to_have_count(1)
    expect(last_reply(page)).to_have_attribute("data-run-id", second)
    expect(last_reply(page).get_by_role("alert")).to_contain_text(Run.objects.get(pk=second).last_error["message"])
