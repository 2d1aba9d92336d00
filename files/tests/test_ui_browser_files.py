"""The chat UI in a real browser: attach a file and an image, see them upload, and see the
chart the code interpreter made from the file, in the tool card and in the reply."""

from __future__ import annotations

import pytest

from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run
from files.models import File
from testsupport.factories import make_assistant
from testsupport.requirements import require_tool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63fccf50000000040001f5d2e0ed0000000049454e44ae426082")
CODE = """Run this with the code_interpreter:
```python
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
df = pd.read_csv("/mnt/data/sales.csv")
df.plot.bar(x="city", y="sales").get_figure().savefig("/mnt/data/chart.png")
print("rows", len(df))
```"""


def _loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def test_it_attaches_a_file_and_an_image_and_shows_the_generated_chart(open_page, person, settings):
    require_tool("bwrap", "the code interpreter runs Python inside bubblewrap")
    settings.CODE_INTERPRETER_TIMEOUT = 60  # matplotlib's first import is slow on a busy machine
    make_assistant(person, name="Analyst", model="demo/tools", tools=[{"type": "code_interpreter"}])
    page = open_page()

    page.locator("#attach-input").set_input_files([
        {"name": "sales.csv", "mimeType": "text/csv", "buffer": b"city,sales\nParis,3\nLyon,5\n"},
        {"name": "dot.png", "mimeType": "image/png", "buffer": PNG}])
    chips = page.locator(".attach-chip")
    expect(chips).to_have_count(2)
    expect(page.locator(".attach-chip[data-file-id]")).to_have_count(2)  # both uploaded
    expect(page.locator(".attach-chip.uploading")).to_have_count(0)
    assert _loaded(page.locator('.attach-chip[data-name="dot.png"] img'))
    assert sorted(File.objects.values_list("filename", flat=True)) == ["dot.png", "sales.csv"]

    send(page, CODE)
    wait_for_run(page)

    expect(page.locator(".attach-chip")).to_have_count(0)
    user_image = page.locator(".msg.user .file-image img").last
    expect(user_image).to_be_visible()
    assert _loaded(user_image)
    card = page.locator('.tool-card[data-tool="code_interpreter"]')
    expect(card).to_contain_text("rows 2")
    chart = File.objects.get(filename="chart.png", purpose="assistants_output")
    card_image = card.locator(f'.tool-images .file-image[data-file-id="{chart.id}"] img')
    expect(card_image).to_be_attached()
    reply_image = last_reply(page).locator(f'.msg.assistant .file-image[data-file-id="{chart.id}"] img')
    expect(reply_image).to_be_visible()
    assert _loaded(reply_image)
    shot(page, "chat-files", docs=True)

    page.reload()  # the images come back from the stored messages and steps
    wait_for_run(page)
    expect(page.locator(".msg.user .file-image img").last).to_be_visible()
    expect(last_reply(page).locator(f'.msg.assistant .file-image[data-file-id="{chart.id}"] img')).to_be_visible()
