"""The chat UI in a real browser: Debian's Chromium driven by Playwright against the live ASGI app.

Every test signs in (the first through the form, the rest with a session cookie), works
the page like a person would, and checks both the page and the stored state. Screenshots
of the main states land in test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from conversations.models import Message, Run, Thread
from inference.registry import function_tool_definition, get_function
from testsupport.factories import make_assistant, make_message, make_thread, make_user
from testsupport.live import free_port
from testsupport.requirements import require, require_tool

CHROMIUM = "/usr/bin/chromium"
require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing; the browser tests drive Debian's Chromium (apt install chromium)")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"
PASSWORD = "a long enough password"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
CLIENT_FUNCTION = {"type": "function", "function": {
    "name": "lookup_order", "description": "Look an order up in the shop's own system.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop running in this thread, which Django takes
    # for async code and refuses the ORM in (fixtures, flushes, the test's own checks).
    # Nothing here is async: the server under test runs in its own thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def person(transactional_db):
    user = make_user("dana")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def open_page(browser, live_entities, person):
    """``open_page(path="/", signed_in=True, **context options)`` → a Page; fails the test on any
    script error or console error (a CSP violation included)."""
    contexts, problems = [], []

    def open_page(path: str = "/", *, signed_in: bool = True, **options) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 820})
        context = browser.new_context(base_url=live_entities.url, **options)
        contexts.append(context)
        if signed_in:
            client = Client()
            client.force_login(person)
            context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_entities.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
        page.goto(path)
        if signed_in:
            page.locator("#app.ready").wait_for()
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == []


AT_BOTTOM = "(() => { const el = document.querySelector('#transcript'); return el.scrollHeight - el.scrollTop - el.clientHeight < 80; })()"
SCROLL_TOP = "document.querySelector('#transcript').scrollTop"


def shot(page: Page, name: str, *, docs: bool = False) -> None:
    """Save a screenshot; ``docs`` ones also refresh docs/screenshots/ when it lacks them or
    ENTITIES_UPDATE_SCREENSHOTS=1 (committed files are not rewritten by every run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    target = DOCS_SCREENSHOTS / f"{name}.png"
    if docs and (not target.exists() or os.environ.get("ENTITIES_UPDATE_SCREENSHOTS") == "1"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")


def last_reply(page: Page):
    return page.locator(".run").last


def wait_for_run(page: Page, status: str = "completed"):
    try:
        expect(last_reply(page)).to_have_attribute("data-status", status, timeout=15_000)
    except AssertionError as exc:
        shot(page, "failure")
        said = page.evaluate("Array.from(document.querySelectorAll('#composer-error, .toast')).map(e => e.textContent)")
        raise AssertionError(f"{exc}\nthe page said: {said}") from None


def reply_text(page: Page) -> str:
    return last_reply(page).locator(".msg.assistant").last.inner_text()


def markdown_source(page: Page) -> str:
    return last_reply(page).locator(".msg.assistant").last.evaluate("el => el.markdownSource")


# --- signing in ----------------------------------------------------------------------------


def test_it_signs_in_shows_the_empty_state_and_signs_out(open_page, person):
    make_assistant(person, name="Helper", model="demo/echo")
    page = open_page("/", signed_in=False)

    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "login")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="How can I help today?")).to_be_visible()
    expect(page.locator("#empty-assistant")).to_have_text("Helper")
    expect(page.locator("#backend .backend-badge")).to_contain_text("Demo backend")
    expect(page.locator("#demo-note")).to_be_visible()
    shot(page, "empty", docs=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_it_refuses_a_wrong_password(open_page):
    page = open_page("/login/", signed_in=False)
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


# --- assistants ----------------------------------------------------------------------------


def test_it_creates_and_edits_an_assistant(open_page, person):
    page = open_page()
    expect(page.get_by_label("Message", exact=True)).to_have_attribute("placeholder", "Create an assistant to start chatting")
    shot(page, "no-assistant")
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
    expect(page.get_by_label("Assistant", exact=True)).to_have_value(re.compile("^asst_"))
    expect(page.locator("#assistant-select option:checked")).to_have_text("Travel helper")
    expect(page.locator("#backend")).to_contain_text("tools")
    assistant = person.assistants.get()
    assert (assistant.name, assistant.model, assistant.instructions) == ("Travel helper", "demo/tools", "Answer with flight times.")
    assert assistant.tools == [{"type": "code_interpreter"}, function_tool_definition(get_function("get_flight_times"))]

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
    old_run = last_reply(page).get_attribute("data-run-id")
    last_reply(page).get_by_role("button", name="Regenerate reply").click()
    expect(last_reply(page)).not_to_have_attribute("data-run-id", old_run)
    wait_for_run(page)
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


def test_it_shows_a_server_tool_call_as_a_card(open_page, person):
    make_assistant(person, name="Travel helper", model="demo/tools",
                   tools=[function_tool_definition(get_function("get_flight_times"))])
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
    expect(error).to_contain_text(stored["message"])
    shot(page, "failed")


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
