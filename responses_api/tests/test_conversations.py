"""Conversations (threads underneath) and response chains, through the official SDK.

What the fake model server received shows that the history reached the model.
"""

from __future__ import annotations

import openai
import pytest

from conversations.models import Thread
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.live import sdk_for
from testsupport.scenarios import Reply
from testsupport.sse import cloud  # noqa: F401 - a fixture


def _said(request: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request["messages"]]


def test_it_creates_retrieves_updates_and_deletes_a_conversation(sdk):
    conversation = sdk.conversations.create(metadata={"topic": "demo"},
                                            items=[{"type": "message", "role": "user", "content": "Hello!"}])
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "demo"}
    assert Thread.objects.filter(pk="thread_" + conversation.id.removeprefix("conv_")).exists()

    assert sdk.conversations.retrieve(conversation.id).model_dump() == conversation.model_dump()
    updated = sdk.conversations.update(conversation.id, metadata={"topic": "changed"})
    assert updated.metadata == {"topic": "changed"}

    deleted = sdk.conversations.delete(conversation.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (conversation.id, True, "conversation.deleted")
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(conversation.id)


def test_it_lists_creates_retrieves_and_deletes_items(sdk):
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "one"}])
    added = sdk.conversations.items.create(conversation.id, items=[
        {"type": "message", "role": "assistant", "content": "two"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "three"}]},
    ])
    assert [(i.role, i.content[0].text) for i in added.data] == [("assistant", "two"), ("user", "three")]

    listed = sdk.conversations.items.list(conversation.id, order="asc")
    assert [i.content[0].text for i in listed.data] == ["one", "two", "three"]
    assert listed.has_more is False
    page = sdk.conversations.items.list(conversation.id, order="asc", limit=1, after=listed.data[0].id)
    assert ([i.content[0].text for i in page.data], page.has_more) == (["two"], True)

    item = sdk.conversations.items.retrieve(listed.data[1].id, conversation_id=conversation.id)
    assert item.model_dump() == listed.data[1].model_dump()
    after_delete = sdk.conversations.items.delete(listed.data[1].id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    assert [i.content[0].text for i in sdk.conversations.items.list(conversation.id, order="asc").data] == [
        "one", "three"]


def test_the_item_routes_answer_only_their_own_methods(sdk):
    """DELETE on the items list once reached the conversation's own handler and deleted it."""
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "keep me"}])
    item = sdk.conversations.items.list(conversation.id).data[0]

    with pytest.raises(openai.APIStatusError) as on_list:
        sdk.delete(f"/conversations/{conversation.id}/items", cast_to=object)
    with pytest.raises(openai.APIStatusError) as on_item:
        sdk.post(f"/conversations/{conversation.id}/items/{item.id}", body={"metadata": {}}, cast_to=object)

    assert (on_list.value.status_code, on_item.value.status_code) == (405, 405)
    assert [i.content[0].text for i in sdk.conversations.items.list(conversation.id).data] == ["keep me"]


def test_a_conversation_gathers_each_response_and_the_model_sees_the_history(sdk, cloud):
    cloud.push(Reply(["Hi ", "Alice"]), Reply(["Your name is ", "Alice"]))
    conversation = sdk.conversations.create()
    first = sdk.responses.create(model="cloud/x", input="My name is Alice", conversation=conversation.id)
    second = sdk.responses.create(model="cloud/x", input="What is my name?", conversation=conversation.id,
                                  instructions="Answer in one line.")

    assert second.output_text == "Your name is Alice"
    assert first.conversation.id == conversation.id == second.conversation.id
    assert _said(cloud.requests[1]) == [
        ("system", "Answer in one line."), ("user", "My name is Alice"), ("assistant", "Hi Alice"),
        ("user", "What is my name?")]
    items = sdk.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [
        ("user", "My name is Alice"), ("assistant", "Hi Alice"), ("user", "What is my name?"),
        ("assistant", "Your name is Alice")]
    assert [i.id for i in items if i.role == "assistant"] == [first.output[0].id, second.output[0].id]


def test_previous_response_id_chains_carry_the_history_and_branch_without_mixing(sdk, cloud):
    cloud.push(Reply(["A1"]), Reply(["A2"]), Reply(["B2"]))
    first = sdk.responses.create(model="cloud/x", input="Q1", instructions="old instructions")
    second = sdk.responses.create(model="cloud/x", input="Q2", previous_response_id=first.id)
    branch = sdk.responses.create(model="cloud/x", input="Q2b", previous_response_id=first.id)

    assert (second.previous_response_id, second.conversation) == (first.id, None)
    # Instructions are not carried over, as in OpenAI's API.
    assert _said(cloud.requests[1]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]
    # The branch sees the chain up to `first` only, not the other continuation.
    assert _said(cloud.requests[2]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2b")]
    assert branch.output_text == "B2"
    third = sdk.responses.create(model="cloud/x", input="Q3", previous_response_id=second.id)
    assert _said(cloud.requests[3]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2"),
                                        ("user", "Q3")]
    assert third.status == "completed"


def test_it_refuses_both_conversation_and_previous_response_id(sdk):
    first = sdk.responses.create(model="demo/echo", input="x")
    conversation = sdk.conversations.create()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="demo/echo", input="y", previous_response_id=first.id,
                             conversation=conversation.id)
    assert caught.value.body["param"] == "previous_response_id"


def test_other_users_conversations_are_not_found(sdk, live_entities, bob):
    conversation = sdk.conversations.create(items=[{"type": "message", "role": "user", "content": "secret"}])
    item_id = sdk.conversations.items.list(conversation.id).data[0].id
    with sdk_for(live_entities, bob) as other:
        for call in (lambda: other.conversations.retrieve(conversation.id),
                     lambda: other.conversations.update(conversation.id, metadata={}),
                     lambda: other.conversations.delete(conversation.id),
                     lambda: other.conversations.items.list(conversation.id),
                     lambda: other.conversations.items.retrieve(item_id, conversation_id=conversation.id),
                     lambda: other.conversations.items.delete(item_id, conversation_id=conversation.id),
                     lambda: other.responses.create(model="demo/echo", input="x", conversation=conversation.id)):
            with pytest.raises(openai.NotFoundError):
                call()
    assert sdk.conversations.retrieve(conversation.id).id == conversation.id
