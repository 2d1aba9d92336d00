"""The chat UI in a real browser: the sidebar — searching, renaming and deleting chats, and phone width."""

from __future__ import annotations

import re

import pytest

from conversations.models import Thread
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, send, shot, wait_for_run
from testsupport.factories import make_assistant, make_message, make_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# --- the sidebar ---------------------------------------------------------------------------


def test_it_searches_renames_and_deletes_threads(open_page, person):
    assistant = make_assistant(person, name="Echo", model="demo/echo")
    fruit = make_thread(person, title="Fruit")
    make_message(fruit, text="I like bananas")
    travel = make_thread(person, title="Travel plans")
    make_message(travel, text="Lisbon in May")
    make_message(travel, role="assistant", text="Lovely **idea**.", assistant_id=assistant.id)
    page = open_page()
    items = page.locator(".thread-item")
    expect(items).to_have_text(["Travel plans", "Fruit"])  # newest first

    page.get_by_label("Search chats").fill("banana")
    expect(items).to_have_text(["Fruit"])
    page.get_by_label("Search chats").fill("")
    expect(items).to_have_count(2)

    page.get_by_role("link", name="Travel plans").click()
    expect(page).to_have_url(re.compile(f"/c/{travel.id}$"))
    expect(page.locator(".msg.assistant strong")).to_have_text("idea")

    page.get_by_role("button", name="Rename chat: Travel plans").click()
    page.get_by_label("Chat title").fill("Lisbon trip")
    page.keyboard.press("Enter")
    expect(items.first).to_have_text("Lisbon trip")
    travel.refresh_from_db()
    assert (travel.title, travel.metadata) == ("Lisbon trip", {})

    page.get_by_role("button", name="Delete chat: Fruit").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete chat").click()
    expect(items).to_have_text(["Lisbon trip"])
    assert not Thread.objects.filter(pk=fruit.pk).exists()

    page.reload()
    expect(items).to_have_text(["Lisbon trip"])
    page.get_by_role("button", name="New chat").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="How can I help today?")).to_be_visible()


def test_it_collapses_the_sidebar_at_phone_width(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    make_thread(person, title="An older chat")
    page = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)

    sidebar = page.get_by_role("complementary", name="Chats")
    expect(sidebar).to_be_hidden()
    send(page, "Hi from a phone")
    wait_for_run(page)
    shot(page, "phone")

    page.get_by_role("button", name="Show sidebar").click()
    expect(sidebar).to_be_visible()
    expect(sidebar.get_by_role("link", name="An older chat")).to_be_visible()
    shot(page, "phone-sidebar")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()


def test_chats_are_ordered_by_last_activity_with_clean_titles_that_use_the_whole_row(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    long_title = "# Planning **the** `trip` to Lisbon, Porto and the Algarve in May"
    old = make_thread(person, title=long_title)
    make_thread(person, title="Newer chat")
    page = open_page()
    items = page.locator(".thread-item")
    clean = "Planning the trip to Lisbon, Porto and the Algarve in May"
    expect(items).to_have_text(["Newer chat", clean])
    link = page.get_by_role("link", name=clean)
    expect(link).to_have_attribute("title", clean)  # the full title on hover
    # Cut by the row's width with an ellipsis, not after ~22 characters by the hidden buttons.
    assert link.evaluate("el => el.clientWidth") >= 200
    assert link.evaluate("el => el.scrollWidth > el.clientWidth && getComputedStyle(el).textOverflow") == "ellipsis"

    link.click()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()  # opening a chat: ready to type
    send(page, "Still going?")
    wait_for_run(page)
    expect(items).to_have_text([clean, "Newer chat"])  # continuing an old chat moves it up
    page.reload()
    page.locator("#app.ready").wait_for()
    expect(items).to_have_text([clean, "Newer chat"])  # the server's updated_at says so too
    assert old.id in page.url
