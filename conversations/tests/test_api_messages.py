"""/v1/threads/{id}/messages through the SDK against a live server."""

from __future__ import annotations

from unittest.mock import ANY

import httpx
import openai
import pytest
from django.utils import timezone

from conversations.models import Message


@pytest.fixture
def thread(sdk):
    return sdk.beta.threads.create()


def test_it_creates_a_message_with_every_key(live_entities, alice, thread):
    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/messages", headers=alice.headers,
                          json={"role": "user", "content": "How does AI work?", "metadata": {"k": "v"}})

    assert response.status_code == 200
    message = response.json()
    assert message == {
        "id": ANY, "object": "thread.message", "created_at": ANY, "thread_id": thread.id, "status": "completed",
        "incomplete_details": None, "completed_at": ANY, "incomplete_at": None, "role": "user",
        "content": [{"type": "text", "text": {"value": "How does AI work?", "annotations": []}}],
        "assistant_id": None, "run_id": None, "attachments": [], "metadata": {"k": "v"},
    }
    assert message["id"].startswith("msg_")


def test_it_normalises_content_parts_to_the_stored_shape(sdk, thread):
    cat = sdk.files.create(file=("cat.png", b"\x89PNG not really"), purpose="vision").id
    data = sdk.files.create(file=("data.csv", b"a,b\n"), purpose="assistants").id
    message = sdk.beta.threads.messages.create(
        thread.id, role="user",
        content=[
            {"type": "text", "text": "Look at these"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            {"type": "image_file", "image_file": {"file_id": cat}},
        ],
        attachments=[{"file_id": data, "tools": [{"type": "code_interpreter"}]}],
    )

    dumped = message.model_dump(exclude_none=True)
    assert dumped["content"] == [
        {"type": "text", "text": {"value": "Look at these", "annotations": []}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_file", "image_file": {"file_id": cat, "detail": "auto"}},
    ]
    assert dumped["attachments"] == [{"file_id": data, "tools": [{"type": "code_interpreter"}]}]
    assert sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id) == message


def test_it_modifies_only_metadata_and_deletes(live_entities, alice, sdk, thread):
    message = sdk.beta.threads.messages.create(thread.id, role="user", content="hi")

    updated = sdk.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"seen": "yes"})
    assert updated.metadata == {"seen": "yes"}
    assert updated.content == message.content
    untouched = sdk.beta.threads.messages.update(message.id, thread_id=thread.id)
    assert untouched.metadata == {"seen": "yes"}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.threads.messages.update(message.id, thread_id=thread.id, extra_body={"content": "rewritten"})
    assert caught.value.param == "content"

    deleted = httpx.delete(f"{live_entities.v1}/threads/{thread.id}/messages/{message.id}", headers=alice.headers)
    assert deleted.json() == {"id": message.id, "object": "thread.message.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id)


def test_it_deletes_through_the_sdk(sdk, thread):
    message = sdk.beta.threads.messages.create(thread.id, role="user", content="bye")

    deleted = sdk.beta.threads.messages.delete(message.id, thread_id=thread.id)

    assert deleted.model_dump() == {"id": message.id, "object": "thread.message.deleted", "deleted": True}


def test_it_does_not_find_a_message_through_another_thread(sdk, thread):
    other = sdk.beta.threads.create()
    message = sdk.beta.threads.messages.create(thread.id, role="user", content="hi")

    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.messages.retrieve(message.id, thread_id=other.id)


def test_it_pages_messages_in_both_orders_even_within_one_second(sdk, thread):
    ids = [sdk.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(5)]
    Message.objects.filter(pk__in=ids).update(created_at=timezone.now())
    ascending = sorted(ids)  # equal created_at: the id breaks the tie

    asc = [m.id for m in sdk.beta.threads.messages.list(thread.id, order="asc", limit=2)]
    desc = [m.id for m in sdk.beta.threads.messages.list(thread.id, limit=2)]
    first = sdk.beta.threads.messages.list(thread.id, order="asc", limit=2)
    before = sdk.beta.threads.messages.list(thread.id, order="asc", before=ascending[3], limit=2)

    assert asc == ascending
    assert desc == ascending[::-1]
    assert ([m.id for m in first.data], first.has_more) == (ascending[:2], True)
    assert ([m.id for m in before.data], before.has_more) == (ascending[1:3], True)


def test_it_lists_with_the_whole_list_envelope(live_entities, alice, sdk, thread):
    message = sdk.beta.threads.messages.create(thread.id, role="user", content="only one")

    page = httpx.get(f"{live_entities.v1}/threads/{thread.id}/messages", headers=alice.headers).json()

    assert page == {"object": "list", "data": [message.model_dump()], "first_id": message.id,
                    "last_id": message.id, "has_more": False}


def test_it_filters_messages_by_run_id(sdk, thread):
    sdk.beta.threads.messages.create(thread.id, role="user", content="hi")

    assert sdk.beta.threads.messages.list(thread.id, run_id="run_none").data == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "tool", "content": "x"}, "role"),
        ({"role": "user", "content": ""}, "content"),
        ({"role": "user", "content": []}, "content"),
        ({"role": "user", "content": 42}, "content"),
        ({"role": "user", "content": [{"type": "audio", "audio": {}}]}, "content[0].type"),
        ({"role": "user", "content": [{"type": "text"}]}, "content[0].text"),
        ({"role": "user", "content": [{"type": "text", "text": {"value": "x"}}]}, "content[0].text"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}, "content[0].image_url.url"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x", "detail": "max"}}]},
         "content[0].image_url.detail"),
        ({"role": "user", "content": [{"type": "image_file", "image_file": {}}]}, "content[0].image_file.file_id"),
        ({"role": "user", "content": "x", "attachments": [{"tools": []}]}, "attachments[0].file_id"),
        ({"role": "user", "content": "x", "attachments": [{"file_id": "f", "tools": [{"type": "web"}]}]},
         "attachments[0].tools[0].type"),
        ({"role": "user", "content": "x", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"role": "user", "content": "x", "file_ids": ["f"]}, "file_ids"),
    ],
)
def test_it_validates_the_create_body(live_entities, alice, thread, body, param):
    response = httpx.post(f"{live_entities.v1}/threads/{thread.id}/messages", headers=alice.headers, json=body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["type"] == "invalid_request_error"
