"""The chat UI in a real browser: Markdown and highlighted code, and never running script from a message."""

from __future__ import annotations

import time

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run
from testsupport.factories import make_assistant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_renders_markdown_and_highlights_code_with_a_copy_button(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    send(page, "Some **bold** text and code:\n```python\ndef add(a, b):\n    return a + b\n```")

    wait_for_run(page)
    reply = last_reply(page).locator(".msg.assistant")
    expect(reply.locator("strong")).to_have_text("bold")
    expect(reply.locator("ul li").first).to_contain_text("streamed word by word")
    block = reply.locator(".code-block")
    expect(block.locator(".code-lang")).to_have_text("python")
    expect(block.locator("code.hljs .hljs-keyword").first).to_have_text("def")
    expect(page.locator(".msg.user .code-block")).to_have_count(1)
    block.get_by_role("button", name="Copy code").click()
    expect(block.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "def add(a, b):\n    return a + b\n"
    shot(page, "markdown")


def test_it_never_runs_script_from_a_message_or_a_reply(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    payload = ('<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
               '[click](javascript:window.__xss=3) <a href="javascript:window.__xss=4">raw</a> **still Markdown**')
    send(page, payload)

    wait_for_run(page)
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("<img src=x onerror=")
    expect(page.locator(".msg.user")).to_contain_text('<script>window.__xss=2</script>')
    expect(page.locator(".msg strong")).to_have_count(2)  # the user's and the echo's
    time.sleep(0.2)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".messages script, .messages img, .messages [onerror], .messages [onclick]").count() == 0
    assert page.locator('.messages a[href^="javascript:"]').count() == 0
    page.locator(".messages a", has_text="click").first.click()
    assert page.evaluate("window.__xss") is None
