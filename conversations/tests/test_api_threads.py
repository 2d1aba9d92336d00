"""/v1/threads through the SDK against a live server: CRUD, shapes, and the list/search extension."""

from __future__ import annotations

from unittest.mock import ANY

import httpx
import openai
import pytest

THREAD_KEYS = {"id", "object", "created_at", "tool_resources", "metadata"}


def test_it_creates_an_empty_thread_with_every_key(live_entities, alice):
    response = httpx.post(f"{live_entities.v1}/threads", headers=alice.headers)

    assert response.status_code == 200
    thread = response.json()
    # title and updated_at are Entities extensions (the SDK ignores extra keys).
    assert thread == {"id": ANY, "object": "thread", "created_at": ANY, "tool_resources": {}, "metadata": {},
                      "title": "", "updated_at": ANY}
    assert thread["id"].startswith("thread_")
    assert isinstance(thread["created_at"], int)


def test_it_creates_a_thread_with_messages_in_the_given_order(sdk):
    first_file = sdk.files.create(file=("a.csv", b"a\n"), purpose="assistants").id  # ids are checked
    thread = sdk.beta.threads.create(
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
            {"role": "user", "content": "third", "metadata": {"n": "3"}},
        ],
        metadata={"topic": "ordering"},
        tool_resources={"code_interpreter": {"file_ids": [first_file]}},
    )

    assert thread.metadata == {"topic": "ordering"}
    assert thread.tool_resources.code_interpreter.file_ids == [first_file]
    messages = sdk.beta.threads.messages.list(thread.id, order="asc").data
    assert [(m.role, m.content[0].text.value) for m in messages] == [
        ("user", "first"), ("assistant", "second"), ("user", "third")]
    assert messages[2].metadata == {"n": "3"}
    assert all(m.thread_id == thread.id and m.run_id is None and m.assistant_id is None for m in messages)


def test_it_retrieves_modifies_and_deletes_a_thread(sdk, live_entities, alice):
    thread = sdk.beta.threads.create(metadata={"a": "1"})

    fetched = httpx.get(f"{live_entities.v1}/threads/{thread.id}", headers=alice.headers).json()
    assert set(fetched) >= THREAD_KEYS
    assert sdk.beta.threads.retrieve(thread.id) == thread

    second_file = sdk.files.create(file=("b.csv", b"b\n"), purpose="assistants").id  # ids are checked
    updated = sdk.beta.threads.update(thread.id, metadata={"a": "2", "b": "3"},
                                      tool_resources={"code_interpreter": {"file_ids": [second_file]}})
    assert updated.metadata == {"a": "2", "b": "3"}
    assert updated.tool_resources.code_interpreter.file_ids == [second_file]
    assert sdk.beta.threads.retrieve(thread.id) == updated

    unchanged = sdk.beta.threads.update(thread.id)
    assert unchanged == updated

    deleted = httpx.delete(f"{live_entities.v1}/threads/{thread.id}", headers=alice.headers)
    assert deleted.json() == {"id": thread.id, "object": "thread.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.messages.list(thread.id)


def test_it_deletes_through_the_sdk(sdk):
    thread = sdk.beta.threads.create()

    deleted = sdk.beta.threads.delete(thread.id)

    assert deleted.model_dump() == {"id": thread.id, "object": "thread.deleted", "deleted": True}


def test_it_lists_the_users_threads_newest_first(live_entities, alice, bob, sdk):
    ids = [sdk.beta.threads.create().id for _ in range(3)]
    httpx.post(f"{live_entities.v1}/threads", headers=bob.headers)

    page = httpx.get(f"{live_entities.v1}/threads", params={"limit": 2}, headers=alice.headers).json()
    rest = httpx.get(f"{live_entities.v1}/threads", params={"limit": 2, "after": page["last_id"]},
                     headers=alice.headers).json()

    assert [t["id"] for t in page["data"]] == ids[::-1][:2]
    assert page["has_more"] is True
    assert [t["id"] for t in rest["data"]] == ids[:1]
    assert rest["has_more"] is False
    assert all(set(t) >= THREAD_KEYS for t in page["data"])


def test_it_searches_threads_by_title_and_message_text(live_entities, alice, sdk):
    by_text = sdk.beta.threads.create(messages=[{"role": "user", "content": "Plan the aardvark migration"}])
    by_title = sdk.beta.threads.create()
    sdk.beta.threads.update(by_title.id, extra_body={"title": "Aardvark budget"})
    sdk.beta.threads.create(messages=[{"role": "user", "content": "Something else"}])

    found = httpx.get(f"{live_entities.v1}/threads", params={"search": "aardvark"}, headers=alice.headers).json()

    assert sorted(t["id"] for t in found["data"]) == sorted([by_text.id, by_title.id])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "x", "file_ids": []}]}, "messages[0].file_ids"),
        ({"messages": "hello"}, "messages"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"tool_resources": {"code_interpreter": {"file_ids": ["f"] * 21}}}, "tool_resources.code_interpreter.file_ids"),
        ({"tool_resources": {"file_search": {"vector_store_ids": ["a", "b"]}}}, "tool_resources.file_search.vector_store_ids"),
        ({"title": "titles are set with modify"}, "title"),
    ],
)
def test_it_validates_the_create_body(sdk, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.threads.create(extra_body=body)

    assert caught.value.param == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"k": "v" * 513}}, "metadata.k"),
        ({"messages": []}, "messages"),
        ({"title": "t" * 201}, "title"),
    ],
)
def test_it_validates_the_modify_body(sdk, body, param):
    thread = sdk.beta.threads.create()

    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.threads.update(thread.id, extra_body=body)

    assert caught.value.param == param
