"""``input_file`` parts: the user's uploaded file (or inline file_data) reaches the model as text."""

from __future__ import annotations

import base64
import io

import openai
import pytest

from retrieval.tests.test_core import make_pdf
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.live import sdk_for
from testsupport.scenarios import Reply
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture

NOTES = "Alice's notes: the launch moved to Thursday."


def _upload(sdk, name: str, data: bytes):
    return sdk.files.create(file=(name, io.BytesIO(data)), purpose="user_data")


def _user_text(request: dict) -> str:
    return request["messages"][-1]["content"]


def test_an_uploaded_text_file_reaches_the_model_as_its_text(sdk, cloud):
    notes = _upload(sdk, "notes.md", NOTES.encode())
    cloud.push(Reply(FAKE_CHUNKS))
    response = sdk.responses.create(model="cloud/x", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "When is the launch?"}, {"type": "input_file", "file_id": notes.id}]}])

    assert response.output_text == FAKE_TEXT
    assert _user_text(cloud.requests[0]) == f'When is the launch?<file name="notes.md">\n{NOTES}\n</file>'
    [item] = sdk.responses.input_items.list(response.id).data
    assert [p.model_dump(exclude_none=True) for p in item.content] == [
        {"type": "input_text", "text": "When is the launch?"},
        {"type": "input_file", "file_id": notes.id, "filename": "notes.md"}]


def test_a_pdf_is_read_by_the_pdf_parser_and_inline_file_data_works_too(sdk, cloud):
    pdf = make_pdf("Quarterly revenue grew nine percent")
    report = _upload(sdk, "report.pdf", pdf)
    cloud.push(Reply(FAKE_CHUNKS), Reply(FAKE_CHUNKS))
    sdk.responses.create(model="cloud/x", input=[{"role": "user", "content": [
        {"type": "input_file", "file_id": report.id}]}])
    assert "Quarterly revenue grew nine percent" in _user_text(cloud.requests[0])

    inline = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
    sdk.responses.create(model="cloud/x", input=[{"role": "user", "content": [
        {"type": "input_file", "filename": "inline.pdf", "file_data": inline}]}])
    assert 'file name="inline.pdf"' in _user_text(cloud.requests[1])
    assert "Quarterly revenue grew nine percent" in _user_text(cloud.requests[1])


def test_a_file_in_a_conversation_item_is_history_for_later_responses(sdk, cloud):
    notes = _upload(sdk, "notes.md", NOTES.encode())
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": [
        {"type": "input_file", "file_id": notes.id}]}])
    cloud.push(Reply(FAKE_CHUNKS))
    sdk.responses.create(model="cloud/x", conversation=conversation.id, input="When is the launch?")
    assert NOTES in cloud.requests[0]["messages"][0]["content"]


def test_other_users_files_unknown_ones_and_unreadable_ones_are_refused(sdk, cloud, live_entities, bob):
    notes = _upload(sdk, "notes.md", NOTES.encode())
    binary = _upload(sdk, "blob.bin", b"\x00\x01")
    with sdk_for(live_entities, bob) as other:
        with pytest.raises(openai.NotFoundError) as caught:
            other.responses.create(model="cloud/x", input=[{"role": "user", "content": [
                {"type": "input_file", "file_id": notes.id}]}])
    assert caught.value.body["param"] == "input[0].content[0].file_id"
    for part, param in [({"type": "input_file", "file_id": binary.id}, "input[0].content[0]"),
                        ({"type": "input_file", "file_url": "https://example.com/a.pdf"}, "input[0].content[0].file_url"),
                        ({"type": "input_file", "file_data": "bm90ZXM="}, "input[0].content[0].filename"),
                        ({"type": "input_file", "filename": "a.txt", "file_data": "%%%"}, "input[0].content[0].file_data"),
                        ({"type": "input_file"}, "input[0].content[0]")]:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.responses.create(model="cloud/x", input=[{"role": "user", "content": [part]}])
        assert caught.value.body["param"] == param, caught.value.body
    assert cloud.requests == []
