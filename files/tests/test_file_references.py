"""File ids are checked where they are used: unknown, foreign or deleted ids are 400 with `param`."""

from __future__ import annotations

import openai
import pytest

from testsupport.live import sdk_for


@pytest.fixture
def bobs_file(live_entities, bob):
    return sdk_for(live_entities, bob).files.create(file=("bob.csv", b"b\n"), purpose="assistants").id


@pytest.fixture
def mine(sdk):
    return sdk.files.create(file=("mine.csv", b"m\n"), purpose="assistants").id


def _param(call) -> str:
    with pytest.raises(openai.BadRequestError) as caught:
        call()
    assert caught.value.body["code"] == "invalid_file_id", caught.value.body
    return caught.value.body["param"]


def test_assistant_tool_resources(sdk, mine, bobs_file):
    resources = {"code_interpreter": {"file_ids": [mine, bobs_file]}}
    assert _param(lambda: sdk.beta.assistants.create(model="demo/echo", tool_resources=resources)) == \
        "tool_resources.code_interpreter.file_ids[1]"
    assistant = sdk.beta.assistants.create(model="demo/echo", tool_resources={"code_interpreter": {"file_ids": [mine]}})
    assert _param(lambda: sdk.beta.assistants.update(
        assistant.id, tool_resources={"code_interpreter": {"file_ids": ["file-nope"]}})) == \
        "tool_resources.code_interpreter.file_ids[0]"
    assert sdk.beta.assistants.retrieve(assistant.id).tool_resources.code_interpreter.file_ids == [mine]


def test_thread_tool_resources_and_messages(sdk, mine, bobs_file):
    assert _param(lambda: sdk.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [bobs_file]}})) == \
        "tool_resources.code_interpreter.file_ids[0]"
    assert _param(lambda: sdk.beta.threads.create(messages=[
        {"role": "user", "content": "ok"},
        {"role": "user", "content": "x", "attachments": [{"file_id": mine, "tools": [{"type": "code_interpreter"}]},
                                                         {"file_id": bobs_file, "tools": [{"type": "code_interpreter"}]}]},
    ])) == "messages[1].attachments[1].file_id"
    thread = sdk.beta.threads.create()
    assert _param(lambda: sdk.beta.threads.update(
        thread.id, tool_resources={"code_interpreter": {"file_ids": ["file-unknown"]}})) == \
        "tool_resources.code_interpreter.file_ids[0]"
    assert _param(lambda: sdk.beta.threads.messages.create(
        thread.id, role="user", content=[{"type": "text", "text": "see"},
                                         {"type": "image_file", "image_file": {"file_id": bobs_file}}])) == \
        "content[1].image_file.file_id"
    assert sdk.beta.threads.messages.list(thread.id).data == []


def test_runs_additional_messages_and_create_and_run(sdk, mine, bobs_file):
    assistant = sdk.beta.assistants.create(model="demo/echo")
    thread = sdk.beta.threads.create()
    assert _param(lambda: sdk.beta.threads.runs.create(thread.id, assistant_id=assistant.id, additional_messages=[
        {"role": "user", "content": "x", "attachments": [{"file_id": bobs_file, "tools": [{"type": "code_interpreter"}]}]},
    ])) == "additional_messages[0].attachments[0].file_id"
    assert sdk.beta.threads.runs.list(thread.id).data == []
    assert _param(lambda: sdk.beta.threads.create_and_run(assistant_id=assistant.id, thread={
        "messages": [{"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-none"}}]}]})) \
        == "thread.messages[0].content[0].image_file.file_id"


def test_a_deleted_file_is_no_longer_accepted(sdk, mine):
    sdk.files.delete(mine)
    assert _param(lambda: sdk.beta.assistants.create(
        model="demo/echo", tool_resources={"code_interpreter": {"file_ids": [mine]}})) == \
        "tool_resources.code_interpreter.file_ids[0]"
