"""The chat UI in a real browser: axe-core finds nothing serious, and touch targets are big enough."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, send, shot, wait_for_run
from inference.registry import function_tool_definition, get_function
from testsupport.factories import make_assistant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "testsupport" / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
LAYOUTS = {"light": {"color_scheme": "light"}, "dark": {"color_scheme": "dark"},
           "phone": {"color_scheme": "light", **PHONE}, "phone-dark": {"color_scheme": "dark", **PHONE}}


def open_conversation(open_page, person, **options):
    """A chat with a reply, a code block and a tool card."""
    make_assistant(person, name="Travel helper", model="demo/tools",
                   tools=[{**function_tool_definition(get_function("get_flight_times")), "server_side": True}])
    page = open_page(**options)
    send(page, "Flight times JFK to LAX? Use get_flight_times.\n```python\nprint('wide ' * 40)\n```")
    wait_for_run(page)
    expect(page.locator('.tool-card[data-tool="get_flight_times"]')).to_be_visible()
    return page


def open_drawer(page) -> None:
    page.locator("#toggle-sidebar").click()
    expect(page.locator("#toggle-sidebar")).to_have_attribute("aria-expanded", "true")
    page.wait_for_timeout(300)  # the drawer's slide


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.x A/AA and best-practice violations on the page, serious or critical."""
    page.evaluate(AXE.read_text())  # through the devtools protocol: the page's CSP does not apply
    results = page.evaluate("""async () => {
      const result = await axe.run(document, { resultTypes: ["violations"],
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " — " + n.failureSummary) }));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']}: " + " | ".join(v["nodes"])
            for v in results if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_axe_finds_no_serious_or_critical_violations(open_page, person, layout):
    page = open_conversation(open_page, person, **LAYOUTS[layout])
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)
    if layout.startswith("phone"):
        open_drawer(page)
        violations = axe_violations(page)
        assert not violations, "with the chat list open:\n" + "\n".join(violations)


def test_touch_targets_are_at_least_44_px_on_a_phone(open_page, person):
    page = open_conversation(open_page, person, **PHONE)
    sizes = page.evaluate(TARGETS)
    small = [s for s in sizes if s["w"] < 44 or s["h"] < 44]
    assert sizes and not small, "\n".join(map(str, small))
    shot(page, "phone-touch", docs=True)
    open_drawer(page)
    small = [s for s in page.evaluate(TARGETS) if s["w"] < 44 or s["h"] < 44]
    assert not small, "with the chat list open:\n" + "\n".join(map(str, small))


TARGETS = """() => Array.from(document.querySelectorAll("button, a[href], select, input[type=checkbox], summary, [role=button]"))
  .filter((el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && r.right > 0 && r.left < innerWidth
      && !el.closest(".markdown p, .markdown li"); })  // links inside running text are exempt (WCAG 2.5.8)
  .map((el) => { const r = el.getBoundingClientRect();
    return { what: el.getAttribute("aria-label") || el.textContent.trim().slice(0, 30) || el.className, w: Math.round(r.width), h: Math.round(r.height) }; })"""


@pytest.mark.parametrize("layout", ["desktop", "phone"])
def test_the_saved_toast_covers_neither_backend_badge(open_page, person, layout):
    make_assistant(person, name="Echo", model="demo/echo")
    page = open_page(**(PHONE if layout == "phone" else {}))
    page.get_by_role("button", name="Edit assistant").click()
    dialog = page.get_by_role("dialog", name="Edit assistant")
    dialog.get_by_label("Name").fill("Echo two")
    dialog.get_by_role("button", name=re.compile("^Save")).click()
    toast = page.locator(".toast", has_text="Saved")
    expect(toast).to_be_visible()
    box = toast.bounding_box()
    for badge in (page.locator("#backend .backend-badge"), page.locator("#composer-backend .backend-badge")):
        other = badge.bounding_box()
        assert other is not None
        apart = (box["x"] + box["width"] <= other["x"] or other["x"] + other["width"] <= box["x"]
                 or box["y"] + box["height"] <= other["y"] or other["y"] + other["height"] <= box["y"])
        assert apart, (box, other)
    shot(page, f"saved-toast-{layout}")


OVERLAPS = """() => { const boxes = Array.from(document.querySelectorAll(".topbar button, .topbar select, .topbar a[href]"))
    .filter((el) => el.getBoundingClientRect().width > 0 && getComputedStyle(el).visibility !== "hidden")
    .map((el) => [el.getAttribute("aria-label") || el.id || el.className, el.getBoundingClientRect()]);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    if (r.left < q.right - 0.5 && q.left < r.right - 0.5 && r.top < q.bottom - 0.5 && q.top < r.bottom - 0.5) hits.push(a + " / " + b);
  }
  return { hits, overflow: boxes.filter(([, r]) => r.right > innerWidth + 0.5).map(([n]) => n) }; }"""


def test_a_phone_starts_a_new_chat_from_the_top_bar_without_the_drawer(open_page, person):
    page = open_conversation(open_page, person, **PHONE)
    new_chat = page.locator("#new-chat-top")
    expect(new_chat).to_be_visible()
    expect(page.locator("#new-chat")).not_to_be_in_viewport()  # the drawer's own button is out of sight
    layout = page.evaluate(OVERLAPS)
    assert layout == {"hits": [], "overflow": []}, layout

    new_chat.click()

    expect(page.locator("#messages .message")).to_have_count(0)
    expect(page.locator("#prompt")).to_be_focused()
    expect(page.locator("#toggle-sidebar")).to_have_attribute("aria-expanded", "false")
