"""The chat UI in a real browser: a thread drawn from the server's snapshot after a reload
shows what the live page showed — a regenerated reply once, the run it replaced not at all."""

from __future__ import annotations

import pytest

from conversations.models import Message, Run
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person, echo_page
from conversations.tests.browser_support import expect, last_reply, regenerate, send, wait_for_run
from testsupport.factories import make_assistant
from testsupport.live import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_regenerated_reply_shows_once_after_a_reload(echo_page, person):
    page = echo_page
    send(page, "Say it twice")
    wait_for_run(page)
    regenerate(page)

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
    _, second = regenerate(page, "failed")
    expect(page.locator(".run")).to_have_count(1)

    page.reload()
    wait_for_run(page, "failed")

    expect(page.locator(".run")).to_have_count(1)
    expect(last_reply(page)).to_have_attribute("data-run-id", second)
    expect(last_reply(page).get_by_role("alert")).to_contain_text(Run.objects.get(pk=second).last_error["message"].replace("`", ""))


def test_a_run_started_in_another_tab_is_picked_up_and_streamed_once(open_page, person, settings):
    settings.DEMO_TOKEN_DELAY = 0.03
    make_assistant(person, name="Echo", model="demo/echo")
    writer = open_page()
    send(writer, "Hello from the first tab")
    wait_for_run(writer)
    reader = open_page(writer.url)
    expect(reader.locator(".run")).to_have_count(1)

    send(writer, "And again")
    expect(writer.locator(".run")).to_have_count(2)
    wait_for_run(writer)
    # A run this tab did not start: redrawn from the snapshot, then followed.
    expect(reader.locator(".run")).to_have_count(2)
    wait_for_run(reader)

    stored = Message.objects.filter(thread__owner=person, role="assistant").order_by("created_at").last()
    assert "And again" in stored.text()
    expect(reader.locator(".msg.user")).to_have_count(2)
    # Drawn at the next animation frame: wait for it rather than read a frame early.
    expect(last_reply(reader).locator(".msg.assistant")).to_have_js_property("markdownSource", stored.text())
    expect(last_reply(reader).locator(".msg.assistant")).to_have_count(1)
