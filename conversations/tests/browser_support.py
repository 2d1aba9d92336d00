"""What the browser tests share: Debian's Chromium driven by Playwright against the live ASGI app.

    from conversations.tests.browser_support import *  # noqa: F401,F403 — the fixtures (__all__)
    from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run

Every test signs in (the first through the form, the rest with a session cookie), works
the page like a person would, and checks both the page and the stored state. Screenshots
of the main states land in test-artifacts/screenshots/ (git-ignored). `open_page` needs
`browser` and `person`, so a test module takes all three; it takes `expect` from here too,
so that a missing Chromium skips before Playwright is imported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from testsupport.factories import make_assistant, make_user
from testsupport.requirements import require

CHROMIUM = "/usr/bin/chromium"
require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing; the browser tests drive Debian's Chromium (apt install chromium)")

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

# `import *` brings the fixtures, which pytest finds by name; the helpers are imported by name.
__all__ = ["browser", "open_page", "person", "echo_page"]

SCREENSHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"
PASSWORD = "a long enough password"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


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


@pytest.fixture
def echo_page(open_page, person) -> Page:
    """The chat page of ``person``, whose one assistant is Echo (``demo/echo``: it answers with
    what it was sent)."""
    make_assistant(person, name="Echo", model="demo/echo")
    return open_page()


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
    """Type ``text`` into the composer and send it with Enter."""
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")


def last_reply(page: Page):
    """The last run on the page: its messages, tool cards and state."""
    return page.locator(".run").last


def wait_for_run(page: Page, status: str = "completed"):
    """Wait until the last run ends in ``status``; on failure, screenshot and say what the page showed."""
    try:
        expect(last_reply(page)).to_have_attribute("data-status", status, timeout=15_000)
    except AssertionError as exc:
        shot(page, "failure")
        said = page.evaluate("Array.from(document.querySelectorAll('#composer-error, .toast')).map(e => e.textContent)")
        raise AssertionError(f"{exc}\nthe page said: {said}") from None


def regenerate(page: Page, status: str = "completed") -> tuple[str, str]:
    """Regenerate the last reply and wait until the new run ends in ``status``; returns the
    replaced run's id and the new one's."""
    replaced = last_reply(page).get_attribute("data-run-id")
    last_reply(page).get_by_role("button", name="Regenerate reply").click()
    expect(last_reply(page)).not_to_have_attribute("data-run-id", replaced)
    wait_for_run(page, status)
    return replaced, last_reply(page).get_attribute("data-run-id")


def reply_text(page: Page) -> str:
    """The rendered text of the last assistant message."""
    return last_reply(page).locator(".msg.assistant").last.inner_text()


def markdown_source(page: Page) -> str:
    """The Markdown the last assistant message was rendered from."""
    return last_reply(page).locator(".msg.assistant").last.evaluate("el => el.markdownSource")
