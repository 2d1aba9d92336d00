"""The chat UI in a real browser: tool calls — server functions, the code interpreter, client-side functions."""

from __future__ import annotations

import pytest

from conversations.models import Run
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run
from inference.registry import function_tool_definition, get_function
from testsupport.factories import make_assistant
from testsupport.requirements import require_tool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLIENT_FUNCTION = {"type": "function", "function": {
    "name": "lookup_order", "description": "Look an order up in the shop's own system.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}


def test_it_shows_a_server_tool_call_as_a_card(open_page, person):
    make_assistant(person, name="Travel helper", model="demo/tools",
                   tools=[{**function_tool_definition(get_function("get_flight_times")), "server_side": True}])
    page = open_page()
    send(page, "What are the flight times from JFK to LAX? Use get_flight_times.")

    wait_for_run(page)
    card = page.locator('.tool-card[data-tool="get_flight_times"]')
    expect(card).to_contain_text("Server function")
    expect(card.locator(".chip")).to_have_text("Done")
    expect(card.locator(".tool-section").first).to_contain_text('"departure": "JFK"')
    expect(card.locator(".tool-section").last).to_contain_text('"duration": "5h 30m"')
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("The tool returned")
    shot(page, "tool-card", docs=True)

    page.reload()  # the card comes back from the run steps
    wait_for_run(page)
    expect(page.locator('.tool-card[data-tool="get_flight_times"] .tool-section').last).to_contain_text("5h 30m")
    page.emulate_media(color_scheme="dark")
    shot(page, "tool-card-dark")


def test_it_shows_the_code_interpreter_input_and_output(open_page, person):
    require_tool("bwrap", "the code interpreter runs Python inside bubblewrap")
    make_assistant(person, name="Coder", model="demo/tools", tools=[{"type": "code_interpreter"}])
    page = open_page()
    send(page, "Run this with the code_interpreter:\n```python\nprint(6 * 7)\n```")

    wait_for_run(page)
    card = page.locator('.tool-card[data-tool="code_interpreter"]')
    expect(card).to_contain_text("Code interpreter")
    expect(card.locator(".tool-section").first).to_contain_text("print(6 * 7)")
    expect(card.locator(".tool-section").last).to_contain_text("42")
    expect(card.locator(".chip")).to_have_text("Done")


def test_it_asks_for_the_output_of_a_client_side_function(open_page, person):
    make_assistant(person, name="Shop", model="demo/tools", tools=[CLIENT_FUNCTION])
    page = open_page()
    send(page, 'Where is my order? lookup_order {"order_id": "A-42"}')

    form = page.get_by_role("form", name="Submit tool output")
    expect(form).to_be_visible()
    expect(page.locator('.tool-card[data-tool="lookup_order"] .chip')).to_have_text("Needs your output")
    expect(page.locator('.tool-card[data-tool="lookup_order"]')).to_contain_text("Client-side function")
    expect(form).to_contain_text('"order_id": "A-42"')
    form.get_by_label("Output of lookup_order").fill('{"status": "shipped on Monday"}')
    shot(page, "tool-output-form")
    form.get_by_role("button", name="Submit output").click()

    wait_for_run(page)
    expect(form).to_be_hidden()
    expect(last_reply(page).locator(".msg.assistant")).to_contain_text("shipped on Monday")
    run = Run.objects.get(thread__owner=person)
    assert run.status == "completed"
    assert run.actions.get().output == '{"status": "shipped on Monday"}'
