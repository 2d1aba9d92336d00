"""The chat UI in a real browser: a backend that is down is flagged before anything is sent
(the badge, the composer's warning), its error reads as text, and the editor takes a typed
model name and lists every configured backend with its state and the OpenAI-name routes."""

from __future__ import annotations

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run
from conversations import ui_views
from testsupport.factories import make_assistant
from testsupport.live import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ollama_down(settings):
    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.LOCAL_OPENAI_BASE_URL = ""
    settings.ENTITIES_MODEL_ROUTES = [("gpt-*", "local/llama3.1")]
    ui_views._backends_cache = None
    yield
    ui_views._backends_cache = None


def test_a_down_backend_is_flagged_before_sending_and_its_error_reads_as_text(open_page, person, ollama_down):
    make_assistant(person, name="Local", model="local/llama3.1")
    page = open_page()
    badge = page.locator("#backend .backend-badge")
    expect(badge).to_have_attribute("data-state", "down")
    expect(badge).to_contain_text("not answering")
    expect(page.locator("#backend-warning")).to_be_visible()
    expect(page.locator("#backend-warning")).to_contain_text("local backend is not answering")
    shot(page, "backend-down", docs=True)

    send(page, "Hello?")
    wait_for_run(page, "failed")
    error = last_reply(page).locator(".run-error-text")
    expect(error).not_to_contain_text("`")
    assert "`" not in error.inner_text()


def test_the_editor_takes_a_typed_model_and_lists_every_backend_and_the_routes(open_page, person, ollama_down):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    expect(page.locator("#backend .backend-badge")).to_have_attribute("data-state", "ok")
    page.get_by_role("button", name="Edit assistant").click()
    dialog = page.get_by_role("dialog", name="Edit assistant")
    states = dialog.locator("#assistant-backends li")
    expect(states).to_have_count(3)
    expect(dialog.locator('#assistant-backends li[data-backend="local"]')).to_contain_text("not answering")
    expect(dialog.locator('#assistant-backends li[data-backend="demo"]')).to_contain_text("answering (")
    expect(dialog.locator("#assistant-routes")).to_contain_text("gpt-* → local/llama3.1")
    dialog.get_by_label("Or type its id").fill("local/qwen2.5:7b")
    shot(page, "model-typed", docs=True)
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    assert person.assistants.get().model == "local/qwen2.5:7b"
    expect(page.locator("#backend .backend-badge")).to_have_attribute("data-state", "down")
