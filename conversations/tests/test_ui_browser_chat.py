"""The chat UI in a real browser: streaming a reply, following it, stopping it, surviving a reload
or a dropped socket, and a failed run."""

from __future__ import annotations

import re
import time

import pytest

from conversations.models import Message, Run, Thread
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import (
    expect, last_reply, markdown_source, regenerate, reply_text, send, shot, wait_for_run,
)
from testsupport.factories import make_assistant, make_message, make_thread
from testsupport.live import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AT_BOTTOM = "(() => { const el = document.querySelector('#transcript'); return el.scrollHeight - el.scrollTop - el.clientHeight < 80; })()"
SCROLL_TOP = "document.querySelector('#transcript').scrollTop"


# --- the conversation ------------------------------------------------------------------------


def test_it_streams_a_reply_token_by_token_and_regenerates_it(open_page, person, settings):
    settings.DEMO_TOKEN_DELAY = 0.04
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    prompt = page.get_by_label("Message", exact=True)
    prompt.fill("line one")
    prompt.press("Shift+Enter")
    prompt.press_sequentially("line two")
    expect(prompt).to_have_value("line one\nline two")
    prompt.fill("Hello there")
    prompt.press("Enter")

    expect(prompt).to_have_value("")
    expect(page.get_by_role("button", name="Stop generating")).to_be_visible()
    reply = last_reply(page).locator(".msg.assistant")
    expect(reply).to_contain_text("Demo backend")
    first = len(reply.inner_text())
    time.sleep(0.4)
    second = len(reply.inner_text())
    assert second > first, "the reply should grow while it streams"
    shot(page, "streaming")
    wait_for_run(page)
    expect(reply).to_contain_text("You said: Hello there")
    expect(page.get_by_role("button", name="Send message")).to_be_visible()

    thread = Thread.objects.get(owner=person)
    expect(page).to_have_url(re.compile(f"/c/{thread.id}$"))
    expect(page.locator(".thread-item.active")).to_have_text("Hello there")
    thread.refresh_from_db()
    assert (thread.title, thread.metadata) == ("Hello there", {})
    assert markdown_source(page) == Message.objects.get(thread=thread, role="assistant").text()

    settings.DEMO_TOKEN_DELAY = 0.0
    regenerate(page)
    expect(page.locator(".run")).to_have_count(1)
    assert Message.objects.filter(thread=thread, role="assistant").count() == 1


def test_it_follows_the_stream_unless_the_reader_scrolled_up(open_page, person, settings):
    settings.DEMO_TOKEN_DELAY = 0.05
    make_assistant(person, name="Echo", model="demo/echo")
    thread = make_thread(person, title="A long chat")
    for number in range(12):
        make_message(thread, text=f"Message {number}\n\n" + "A paragraph that takes some room. " * 12)
    page = open_page(f"/c/{thread.id}")
    expect(page.locator(".msg.user")).to_have_count(12)
    assert page.evaluate(AT_BOTTOM)

    send(page, "Stream at the bottom")
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("canned reply")
    assert page.evaluate(AT_BOTTOM)
    page.mouse.move(640, 300)
    page.mouse.wheel(0, -700)
    jump = page.get_by_role("button", name="Scroll to the latest message")
    expect(jump).to_be_visible()
    page.wait_for_timeout(300)
    reading_at = page.evaluate(SCROLL_TOP)
    wait_for_run(page)
    assert abs(page.evaluate(SCROLL_TOP) - reading_at) < 2, "the view must stay where the reader scrolled"
    assert not page.evaluate(AT_BOTTOM)

    jump.click()
    assert page.evaluate(AT_BOTTOM)
    expect(jump).to_be_hidden()


def test_it_stops_a_slow_reply(open_page, person):
    make_assistant(person, name="Slow", model="demo/slow")
    page = open_page()
    send(page, "Take your time")

    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("Demo")
    page.get_by_role("button", name="Stop generating").click()

    wait_for_run(page, "cancelled")
    expect(last_reply(page).locator(".run-state")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()  # where the next message is typed
    shot(page, "stopped")
    run = Run.objects.get(thread__owner=person)
    assert run.status == "cancelled"
    stored = Message.objects.get(run=run).text()
    assert "You said" not in stored  # stopped long before the end
    assert markdown_source(page) == stored


def test_it_picks_the_stream_up_again_after_a_reload(open_page, person, settings):
    settings.DEMO_TOKEN_DELAY = 0.05
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    send(page, "Survive a reload")
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("Demo backend")

    page.reload()
    wait_for_run(page)

    expect(page.locator(".msg.user")).to_have_count(1)
    expect(page.locator(".run")).to_have_count(1)
    expect(page.locator(".msg.assistant")).to_have_count(1)
    stored = Message.objects.get(thread__owner=person, role="assistant")
    assert stored.status == "completed"
    assert markdown_source(page) == stored.text()
    assert reply_text(page).count("You said: Survive a reload") == 1


def test_it_resumes_the_stream_when_the_socket_drops(open_page, person, settings):
    settings.DEMO_TOKEN_DELAY = 0.03
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    page.evaluate("""() => {
        const Native = window.WebSocket;
        window.openSockets = [];
        window.WebSocket = class extends Native {
            constructor(...args) { super(...args); window.openSockets.push(this); }
        };
    }""")
    send(page, "Keep going through a network blip")
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("Demo backend")

    page.evaluate("window.openSockets.at(-1).close()")
    expect(page.locator("#connection")).to_have_text("Reconnecting…")
    wait_for_run(page)

    assert page.evaluate("window.openSockets.length") == 2
    expect(page.locator(".msg.assistant")).to_have_count(1)
    assert markdown_source(page) == Message.objects.get(thread__owner=person, role="assistant").text()


def test_it_shows_a_failed_run_with_its_last_error(open_page, person, settings):
    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.LOCAL_OPENAI_BASE_URL = ""
    make_assistant(person, name="Local", model="local/llama3.1")
    page = open_page()
    expect(page.locator("#backend .backend-badge")).to_contain_text("Local")
    send(page, "Hello?")

    wait_for_run(page, "failed")
    error = last_reply(page).get_by_role("alert")
    stored = Run.objects.get(thread__owner=person).last_error
    expect(error).to_contain_text(stored["message"].replace("`", ""))  # `names` show as code
    expect(error.locator("code").first).to_be_visible()
    shot(page, "failed")
