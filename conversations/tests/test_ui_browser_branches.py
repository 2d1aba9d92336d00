"""The chat UI in a real browser: conversations that branch (edit a sent message, regenerate
keeps versions you step through, ‹ i/n ›, both kept by the server across a reload) and long
threads that page back to their first message as you scroll up."""

from __future__ import annotations

import pytest

from conversations.models import Message
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person, echo_page
from conversations.tests.browser_support import expect, last_reply, regenerate, send, shot, wait_for_run
from testsupport.factories import make_assistant, make_message, make_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_edit_and_regenerate_keep_versions_that_can_be_stepped_through_after_a_reload(echo_page, person):
    page = echo_page
    send(page, "Colour?")
    wait_for_run(page)
    first, second = regenerate(page)
    expect(last_reply(page).locator(".version-count")).to_have_text("2/2")

    last_reply(page).get_by_role("button", name="Previous version of this reply").click()
    expect(last_reply(page)).to_have_attribute("data-run-id", first)
    expect(last_reply(page).locator(".version-count")).to_have_text("1/2")
    last_reply(page).get_by_role("button", name="Next version of this reply").click()
    expect(last_reply(page)).to_have_attribute("data-run-id", second)

    user = page.locator(".msg.user").last
    user.hover()
    user.get_by_role("button", name="Edit message").click()
    editor = page.get_by_label("Edit your message")
    expect(editor).to_be_focused()
    editor.fill("Fruit?")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg.user")).to_have_count(1)
    expect(page.locator(".msg.user").last).to_contain_text("Fruit?")
    wait_for_run(page)
    expect(last_reply(page)).to_contain_text("Fruit?")
    expect(page.locator(".msg.user .version-count")).to_have_text("2/2")
    shot(page, "versions", docs=True)
    # The API's view, and the model's: the active branch only.
    assert [m.text() for m in Message.objects.filter(thread__owner=person, role="user")] == ["Fruit?"]

    page.reload()
    wait_for_run(page)
    expect(page.locator(".msg.user")).to_contain_text("Fruit?")
    expect(page.locator(".msg.user .version-count")).to_have_text("2/2")
    page.locator(".msg.user").hover()
    page.get_by_role("button", name="Previous version of this message").click()
    expect(page.locator(".msg.user")).to_contain_text("Colour?")
    expect(last_reply(page)).to_have_attribute("data-run-id", second)  # the branch as it was left
    expect(last_reply(page).locator(".version-count")).to_have_text("2/2")


def test_a_200_message_thread_opens_at_its_end_and_scrolls_back_to_its_first_message(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    thread = make_thread(person, title="Long")
    for n in range(200):
        make_message(thread, role="user" if n % 2 == 0 else "assistant", text=f"message number {n}")
    page = open_page(f"/c/{thread.id}")
    last = page.locator(".msg").filter(has_text="message number 199")
    expect(last).to_be_in_viewport()
    expect(page.locator(".msg")).to_have_count(100)  # one page: the rest waits on the server
    first = page.locator(".msg").filter(has_text="message number 0").filter(has_not_text="number 0.")
    for _ in range(20):  # each scroll to the top loads the page before it
        if page.locator(".msg").count() == 200:
            break
        page.locator("#transcript").evaluate("el => { el.scrollTop = 0; }")
        page.wait_for_timeout(300)
    expect(page.locator(".msg")).to_have_count(200)
    page.locator("#transcript").evaluate("el => { el.scrollTop = 0; }")
    expect(page.locator(".msg").first).to_contain_text("message number 0")
    expect(page.locator(".msg").first).to_be_in_viewport()
    assert first.count() == 1
