"""The chat UI in a real browser: creating and editing an assistant."""

from __future__ import annotations

import re

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, send, shot
from inference.registry import function_tool_definition, get_function

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# --- assistants ----------------------------------------------------------------------------


def test_it_creates_and_edits_an_assistant(open_page, person):
    page = open_page()
    # The first visit made a ready assistant; with it deleted the page asks for one.
    assert person.assistants.get().name == "Assistant"
    person.assistants.all().delete()
    page.reload()
    page.locator("#app.ready").wait_for()
    expect(page.get_by_label("Message", exact=True)).to_have_attribute("placeholder", "Create an assistant to start chatting")
    shot(page, "no-assistant")
    send(page, "Hello?")  # asks for an assistant first, and opens the editor
    expect(page.locator("#composer-error")).to_contain_text("Create an assistant first")
    expect(page.get_by_role("dialog", name="New assistant")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Create an assistant").click()

    dialog = page.get_by_role("dialog", name="New assistant")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Travel helper")
    expect(dialog.locator("#assistant-model optgroup").first).to_have_attribute("label", re.compile("^Demo"))
    dialog.get_by_label("Model").select_option("demo/tools")
    dialog.get_by_label("Instructions").fill("Answer with flight times.")
    dialog.get_by_label("get_flight_times").check()
    dialog.get_by_label("Code interpreter").check()
    shot(page, "assistant-editor")
    dialog.get_by_role("button", name="Create assistant").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#composer-error")).to_be_hidden()  # answered: the error clears
    expect(page.get_by_label("Assistant", exact=True)).to_have_value(re.compile("^asst_"))
    expect(page.locator("#assistant-select option:checked")).to_have_text("Travel helper")
    expect(page.locator("#backend")).to_contain_text("tools")
    assistant = person.assistants.get()
    assert (assistant.name, assistant.model, assistant.instructions) == ("Travel helper", "demo/tools", "Answer with flight times.")
    assert assistant.tools == [{"type": "code_interpreter"},
                               {**function_tool_definition(get_function("get_flight_times")), "server_side": True}]

    page.get_by_role("button", name="Edit assistant").click()
    dialog = page.get_by_role("dialog", name="Edit assistant")
    expect(dialog.get_by_label("Name")).to_have_value("Travel helper")
    expect(dialog.get_by_label("get_flight_times")).to_be_checked()
    dialog.get_by_label("Name").fill("Trip planner")
    dialog.get_by_label("Code interpreter").uncheck()
    dialog.get_by_role("button", name="Save changes").click()

    expect(page.locator("#assistant-select option:checked")).to_have_text("Trip planner")
    assistant.refresh_from_db()
    assert assistant.name == "Trip planner"
    assert [tool["type"] for tool in assistant.tools] == ["function"]
