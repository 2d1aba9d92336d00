"""The chat UI in a real browser: exporting the open chat as Markdown and as JSON."""

from __future__ import annotations

import json

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, send, wait_for_run
from testsupport.factories import make_assistant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_open_chat_downloads_as_markdown_and_json(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    expect(page.locator("#export")).to_be_hidden()  # nothing to export in a new chat
    send(page, "Export me")
    wait_for_run(page)
    expect(page.locator("#export")).to_be_visible()

    with page.expect_download() as md:
        page.get_by_role("link", name="Export this chat as Markdown").click()
    text = open(md.value.path(), encoding="utf-8").read()
    assert md.value.suggested_filename.endswith(".md")
    assert "## You · " in text and "Export me" in text and "## Assistant · " in text

    with page.expect_download() as js:
        page.get_by_role("link", name="Export this chat as JSON").click()
    data = json.load(open(js.value.path(), encoding="utf-8"))
    assert data["object"] == "chat.export" and [m["role"] for m in data["messages"]] == ["user", "assistant"]
