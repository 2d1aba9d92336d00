"""The chat UI in a real browser: an assistant's knowledge files, and replies that cite them.

The editor uploads files, puts them in the assistant's vector store and follows their
ingestion (real parsing and embedding in the live server); a run on the fake OpenAI server
calls file_search, and the reply shows the citation as a footnote naming the file and quoting
the passage, with the search's results in the tool card.
"""

from __future__ import annotations

import io
import re

import openai
import pytest

from assistants.keys import api_key_create
from conversations.tests.browser_support import *  # noqa: F401,F403 — fixtures: browser, open_page, person
from conversations.tests.browser_support import expect, last_reply, send, shot, wait_for_run
from conversations.tests.engine_support import cloud, fake_openai, fake_openai_server  # noqa: F401 — fixtures
from retrieval.models import VectorStore
from retrieval.tests.conftest import _stop_ingest_workers, fast_polling  # noqa: F401 — fixtures
from retrieval.tests.helpers import DOCS
from testsupport.factories import make_assistant
from testsupport.scenarios import Reply, ToolCalls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_polling"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ANSWER = "Mount Etna in Sicily is one of the most active volcanoes 【0†volcanoes.md】."


def _choose_files(page, dialog, files: list[tuple[str, bytes]]) -> None:
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Add files").click()
    chooser.value.set_files([{"name": name, "mimeType": "text/plain", "buffer": data} for name, data in files])


def test_it_uploads_knowledge_files_and_shows_their_ingestion(open_page, person):
    assistant = make_assistant(person, name="Geology", tools=[{"type": "code_interpreter"}])
    page = open_page()
    page.get_by_role("button", name="Edit assistant").click()
    dialog = page.get_by_role("dialog", name="Edit assistant")
    expect(dialog.locator(".knowledge-note")).to_have_text("No files yet.")

    _choose_files(page, dialog, [("volcanoes.md", DOCS["volcanoes.md"].encode()), ("notes.bin", b"\x00\x01 not text")])

    files = dialog.get_by_role("list", name="Knowledge files")
    volcanoes = files.locator('.knowledge-file:has-text("volcanoes.md")')
    expect(volcanoes).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(volcanoes.locator(".chip")).to_have_text("Ready")
    broken = files.locator('.knowledge-file:has-text("notes.bin")')
    expect(broken).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(dialog.get_by_label("File search")).to_be_checked()  # switched on with the first file
    store = VectorStore.objects.get(owner=person)
    failed = store.files.get(status="failed")
    expect(broken.locator(".knowledge-error")).to_have_text(failed.last_error["message"])
    assert failed.last_error["code"] == "unsupported_file"
    assert store.name == "Geology knowledge"
    assistant.refresh_from_db()  # kept at once, before Save: the store is the assistant's
    assert assistant.tools == [{"type": "code_interpreter"}, {"type": "file_search"}]
    assert assistant.tool_resources == {"file_search": {"vector_store_ids": [store.id]}}
    dialog.locator(".knowledge-field").scroll_into_view_if_needed()
    shot(page, "knowledge-files", docs=True)

    broken.get_by_role("button", name="Remove notes.bin").click()
    expect(broken).to_have_count(0)
    assert [row.file_id for row in store.files.all()] == [volcanoes.get_attribute("data-file-id")]
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    assistant.refresh_from_db()
    assert assistant.tool_resources == {"file_search": {"vector_store_ids": [store.id]}}
    assert assistant.tools == [{"type": "code_interpreter"}, {"type": "file_search"}]

    page.reload()  # the list comes back from the store
    page.locator("#app.ready").wait_for()
    page.get_by_role("button", name="Edit assistant").click()
    files = page.get_by_role("dialog", name="Edit assistant").get_by_role("list", name="Knowledge files")
    expect(files.locator(".knowledge-file")).to_have_count(1)
    expect(files.locator(".knowledge-file")).to_have_attribute("data-status", "completed")
    expect(files).to_contain_text("volcanoes.md")


def test_a_new_assistant_gets_its_store_when_it_is_created(open_page, person):
    page = open_page()
    page.get_by_role("button", name="New assistant").click()
    dialog = page.get_by_role("dialog", name="New assistant")
    dialog.get_by_label("Name").fill("Baker")
    _choose_files(page, dialog, [("baking.txt", DOCS["baking.txt"].encode())])
    expect(dialog.locator('.knowledge-file:has-text("baking.txt")')).to_have_attribute("data-status", "completed", timeout=30_000)
    dialog.get_by_role("button", name="Create assistant").click()

    expect(dialog).to_be_hidden()
    created = person.assistants.get(name="Baker")
    store = VectorStore.objects.get(owner=person)
    assert (store.name, created.tools) == ("Baker knowledge", [{"type": "file_search"}])
    assert created.tool_resources == {"file_search": {"vector_store_ids": [store.id]}}


def _assistant_with_knowledge(live_entities, person):
    sdk = openai.OpenAI(base_url=live_entities.v1, api_key=api_key_create(user=person, name="test").raw, max_retries=0, timeout=30)
    files = [sdk.files.create(file=(name, io.BytesIO(text.encode())), purpose="assistants") for name, text in DOCS.items()]
    store = sdk.vector_stores.create(name="Geology knowledge")
    batch = sdk.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=[f.id for f in files])
    assert batch.file_counts.completed == len(DOCS), batch
    sdk.beta.assistants.create(name="Geology", model="cloud/fake-model", tools=[{"type": "file_search"}],
                               tool_resources={"file_search": {"vector_store_ids": [store.id]}})
    sdk.close()
    return {f.filename: f.id for f in files}


def test_a_reply_cites_the_file_in_a_footnote_and_the_card_shows_the_search(open_page, person, live_entities, cloud):
    files = _assistant_with_knowledge(live_entities, person)
    cloud.push(ToolCalls([("file_search", '{"query": "active volcano in Europe"}')]), Reply([ANSWER]))
    page = open_page()
    send(page, "Which volcano is active?")

    wait_for_run(page)
    reply = last_reply(page).locator(".msg.assistant")
    expect(reply.locator(".markdown")).to_have_text("Mount Etna in Sicily is one of the most active volcanoes1.")
    expect(reply.locator("sup.cite a")).to_have_text("1")
    note = reply.get_by_role("list", name="Sources").locator("li")
    expect(note).to_have_count(1)
    expect(note).to_have_attribute("data-file-id", files["volcanoes.md"])
    expect(note.locator(".footnote-file")).to_have_text("volcanoes.md")
    expect(note.locator(".footnote-passage")).to_contain_text("Mount Etna in Sicily is one of the most active volcanoes in Europe.")

    card = page.locator('.tool-card[data-tool="file_search"]')
    expect(card.locator(".chip")).to_have_text("Done")
    expect(card).to_contain_text("File search")
    first = card.locator(".search-result").first
    expect(first.locator(".search-file")).to_have_text("volcanoes.md")
    expect(first.locator(".search-score")).to_have_text(re.compile(r"^[01]\.\d\d$"))
    assert 0 < float(first.locator(".search-score").inner_text()) <= 1
    expect(first.locator(".search-snippet")).to_contain_text("Mount Etna")
    shot(page, "citations", docs=True)
    reply.get_by_role("link", name="Source 1").click()
    expect(note).to_be_focused()

    page.reload()  # the same from the stored thread
    wait_for_run(page)
    reply = last_reply(page).locator(".msg.assistant")
    expect(reply.locator(".footnote-file")).to_have_text("volcanoes.md")
    expect(reply.locator(".footnote-passage")).to_contain_text("Mount Etna")
    expect(page.locator('.tool-card[data-tool="file_search"] .search-result').first).to_contain_text("volcanoes.md")
    page.emulate_media(color_scheme="dark")
    shot(page, "citations-dark")
