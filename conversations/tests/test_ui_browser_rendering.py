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


def test_task_lists_show_their_boxes_and_wide_code_scrolls_by_keyboard(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    wide = "x = " + " + ".join(str(n) for n in range(200))
    page.get_by_label("Message", exact=True).fill(f"- [x] packed\n- [ ] booked\n\n```python\n{wide}\n```")
    page.keyboard.press("Enter")
    wait_for_run(page)
    user = page.locator(".msg.user").last
    expect(user.get_by_role("img", name="done", exact=True)).to_have_count(1)
    expect(user.get_by_role("img", name="not done")).to_have_count(1)
    pre = last_reply(page).locator(".code-block pre").last  # the echo repeats it; replies do not wrap code
    expect(pre).to_have_attribute("tabindex", "0")
    pre.focus()
    assert pre.evaluate("el => getComputedStyle(el).outlineStyle") != "none"  # a visible focus ring
    assert pre.evaluate("el => el.scrollWidth > el.clientWidth")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("End")
    page.wait_for_function("el => el.scrollLeft > 0", arg=pre.element_handle())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_faint_text_has_at_least_4_5_to_1_contrast(open_page, person, scheme):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page(color_scheme=scheme)
    ratio = page.evaluate("""() => {
      const rgb = (c) => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
      const probe = document.createElement("span");
      probe.style.color = "var(--text-faint)";
      document.body.append(probe);
      const fg = lum(rgb(getComputedStyle(probe).color));
      const backgrounds = ["--bg", "--bg-side", "--bg-hover", "--bg-active", "--bg-user"].map((name) => {
        probe.style.color = `var(${name})`;
        return lum(rgb(getComputedStyle(probe).color));
      });
      probe.remove();
      return Math.min(...backgrounds.map((bg) => (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)));
    }""")
    assert ratio >= 4.5, ratio


def test_tool_suggestions_only_for_assistants_with_the_tool(open_page, person):
    make_assistant(person, name="Plain", model="demo/echo")
    page = open_page()
    expect(page.get_by_role("button", name="Show me Markdown")).to_be_visible()
    expect(page.get_by_role("button", name="Call a tool")).to_be_hidden()
    expect(page.get_by_role("button", name="Run some Python")).to_be_hidden()
    make_assistant(person, name="Coder", model="demo/tools", tools=[{"type": "code_interpreter"}])
    page.reload()
    page.locator("#app.ready").wait_for()
    page.get_by_label("Assistant", exact=True).select_option(label="Coder")
    expect(page.get_by_role("button", name="Run some Python")).to_be_visible()
    expect(page.get_by_role("button", name="Call a tool")).to_be_hidden()


def test_the_theme_toggle_forces_light_or_dark_and_is_remembered(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page(color_scheme="light")
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.get_by_label("Theme").select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) != light
    assert page.locator("#hljs-dark").get_attribute("media") == "all"
    shot(page, "dark-theme", docs=True)
    page.reload()
    page.locator("#app.ready").wait_for()
    expect(page.get_by_label("Theme")).to_have_value("dark")
    assert page.evaluate(background) != light
    page.get_by_label("Theme").select_option("system")
    assert page.evaluate(background) == light


def test_math_renders_as_mathml_but_not_inside_code_or_money(open_page, person):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page()
    text = ("Euler: $e^{i\\pi} + 1 = 0$ and \\(a^2 + b^2 = c^2\\), costs $5 and $10, `$x$` stays code.\n\n"
            "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$\n\n\\[\\sum_{n=1}^\\infty \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]\n\n"
            "Broken: $\\frac{1$ and\n\n```\n$$not math$$\n```")
    page.get_by_label("Message", exact=True).fill(text)
    page.keyboard.press("Enter")
    wait_for_run(page)
    user = page.locator(".msg.user").last
    expect(user.locator(".math-tex.math-ok")).to_have_count(4)
    expect(user.locator(".math-display math[display=block]")).to_have_count(2)
    assert user.locator("math annotation").first.text_content() == "e^{i\\pi} + 1 = 0"
    expect(user.locator(".math-error")).to_have_text("\\frac{1")
    expect(user.locator("code", has_text="$x$")).to_have_count(1)
    expect(user).to_contain_text("costs $5 and $10")
    expect(user.locator("pre code")).to_contain_text("$$not math$$")
    assert user.locator("[style]").count() == 0  # MathML needs no inline styles (style-src 'self')
    expect(last_reply(page).locator(".msg.assistant .math-ok").first).to_be_attached()  # the echo's reply too
    last_reply(page).locator(".math-display").first.scroll_into_view_if_needed()
    shot(page, "math", docs=True)
