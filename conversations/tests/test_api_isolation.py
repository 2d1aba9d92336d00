"""Nobody reaches another user's objects: every endpoint answers 404 (never 403) to bob for alice's ids."""

from __future__ import annotations

import httpx
import openai
import pytest

from testsupport.live import sdk_for


@pytest.fixture
def alices(sdk):
    """Alice's assistant, thread, message, completed run and its step."""
    assistant = sdk.beta.assistants.create(model="demo/echo", name="Alice's")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": "private"}])
    message = sdk.beta.threads.messages.list(thread.id).data[0]
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    step = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    return {"assistant": assistant.id, "thread": thread.id, "message": message.id, "run": run.id, "step": step.id}


def _requests(ids: dict) -> list[tuple[str, str, dict | None]]:
    a, t, m, r, s = ids["assistant"], ids["thread"], ids["message"], ids["run"], ids["step"]
    meta = {"metadata": {"by": "bob"}}
    return [
        ("GET", f"/assistants/{a}", None),
        ("POST", f"/assistants/{a}", {"name": "bob's now"}),
        ("DELETE", f"/assistants/{a}", None),
        ("GET", f"/threads/{t}", None),
        ("POST", f"/threads/{t}", meta),
        ("DELETE", f"/threads/{t}", None),
        ("GET", f"/threads/{t}/messages", None),
        ("POST", f"/threads/{t}/messages", {"role": "user", "content": "hi"}),
        ("GET", f"/threads/{t}/messages/{m}", None),
        ("POST", f"/threads/{t}/messages/{m}", meta),
        ("DELETE", f"/threads/{t}/messages/{m}", None),
        ("GET", f"/threads/{t}/runs", None),
        ("POST", f"/threads/{t}/runs", {"assistant_id": a}),
        ("GET", f"/threads/{t}/runs/{r}", None),
        ("POST", f"/threads/{t}/runs/{r}", meta),
        ("POST", f"/threads/{t}/runs/{r}/cancel", None),
        ("POST", f"/threads/{t}/runs/{r}/submit_tool_outputs", {"tool_outputs": [{"tool_call_id": "call_x", "output": ""}]}),
        ("GET", f"/threads/{t}/runs/{r}/steps", None),
        ("GET", f"/threads/{t}/runs/{r}/steps/{s}", None),
        ("GET", f"/threads/{t}/runs/{r}/events", None),
        ("POST", "/threads/runs", {"assistant_id": a}),
    ]


def test_bob_gets_404_for_every_one_of_alices_ids(live_entities, bob, alices):
    for method, path, body in _requests(alices):
        response = httpx.request(method, live_entities.v1 + path, json=body, headers=bob.headers, timeout=30)

        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "not_found", (method, path)


def test_bobs_attempts_change_nothing_of_alices(live_entities, bob, sdk, alices):
    before = sdk.beta.threads.messages.list(alices["thread"]).model_dump()
    for method, path, body in _requests(alices):
        httpx.request(method, live_entities.v1 + path, json=body, headers=bob.headers, timeout=30)

    assert sdk.beta.assistants.retrieve(alices["assistant"]).name == "Alice's"
    assert sdk.beta.threads.retrieve(alices["thread"]).metadata == {}
    assert sdk.beta.threads.messages.list(alices["thread"]).model_dump() == before
    assert sdk.beta.threads.runs.retrieve(alices["run"], thread_id=alices["thread"]).metadata == {}


def test_bob_cannot_mix_his_ids_with_alices(live_entities, bob, alices):
    bobs = sdk_for(live_entities, bob)
    thread = bobs.beta.threads.create()

    with pytest.raises(openai.NotFoundError) as assistant:
        bobs.beta.threads.runs.create(thread_id=thread.id, assistant_id=alices["assistant"])
    with pytest.raises(openai.NotFoundError):
        bobs.beta.threads.messages.retrieve(alices["message"], thread_id=thread.id)
    with pytest.raises(openai.NotFoundError):
        bobs.beta.threads.runs.retrieve(alices["run"], thread_id=thread.id)

    assert assistant.value.param == "assistant_id"
    bobs.close()


def test_bobs_lists_show_none_of_alices_objects(live_entities, bob, alices):
    bobs = sdk_for(live_entities, bob)

    assert list(bobs.beta.assistants.list()) == []
    threads = httpx.get(f"{live_entities.v1}/threads", params={"search": "private"}, headers=bob.headers).json()
    assert threads["data"] == []
    bobs.close()
