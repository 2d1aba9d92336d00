"""The chat UI in a real browser: a first reply from a real model renames the chat in the list."""

from __future__ import annotations

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, send, shot, wait_for_run
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud (the fake OpenAI server)
from testsupport.factories import make_assistant
from testsupport.scenarios import Reply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_chat_list_shows_the_model_written_title(open_page, person, cloud, settings):
    settings.ENTITIES_AUTO_TITLE = True
    make_assistant(person, name="Cloud", model="cloud/fake-model")
    cloud.push(Reply(["The capital of France is Paris."]), Reply(["Capital of France"]))
    page = open_page()
    send(page, "What is the capital of France? Tell me **why**.")
    wait_for_run(page)

    expect(page.locator(".thread-item.active .thread-link")).to_have_text("Capital of France", timeout=10_000)
    expect(page.locator(".thread-item.active")).to_have_count(1)
    shot(page, "model-title", docs=True)
