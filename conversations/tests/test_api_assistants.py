"""/v1/assistants through the official SDK against a live server: CRUD, shapes, pagination, limits."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import ANY

import httpx
import openai
import pytest
from django.utils import timezone

from assistants.models import Assistant

FUNCTION_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": False,
    },
}


def raw_post(live, person, path: str, body) -> httpx.Response:
    return httpx.post(live.v1 + path, json=body, headers=person.headers, timeout=30)


def test_it_creates_an_assistant_with_every_key(live_entities, alice, sdk):
    file_id = sdk.files.create(file=("data.csv", b"a,b\n"), purpose="assistants").id  # ids are checked
    body = {
        "model": "demo/echo", "name": "Tutor", "description": "Helps with maths.", "instructions": "Be brief.",
        "tools": [{"type": "code_interpreter"}, FUNCTION_TOOL], "metadata": {"team": "maths"},
        "temperature": 0.5, "top_p": 0.9, "response_format": {"type": "json_object"},
        "tool_resources": {"code_interpreter": {"file_ids": [file_id]}},
    }
    response = raw_post(live_entities, alice, "/assistants", body)

    assert response.status_code == 200
    created = response.json()
    assert created == {
        "id": ANY, "object": "assistant", "created_at": ANY, "name": "Tutor", "description": "Helps with maths.",
        "model": "demo/echo", "instructions": "Be brief.", "tools": [{"type": "code_interpreter"}, FUNCTION_TOOL],
        "tool_resources": {"code_interpreter": {"file_ids": [file_id]}}, "metadata": {"team": "maths"},
        "temperature": 0.5, "top_p": 0.9, "response_format": {"type": "json_object"}, "reasoning_effort": None,
    }
    assert created["id"].startswith("asst_")
    assert isinstance(created["created_at"], int)


def test_it_answers_null_rather_than_leaving_keys_out(live_entities, alice):
    created = raw_post(live_entities, alice, "/assistants", {"model": "demo/echo"}).json()

    assert created == {
        "id": ANY, "object": "assistant", "created_at": ANY, "name": None, "description": None,
        "model": "demo/echo", "instructions": None, "tools": [], "tool_resources": {}, "metadata": {},
        "temperature": 1.0, "top_p": 1.0, "response_format": "auto", "reasoning_effort": None,
    }
    fetched = httpx.get(f"{live_entities.v1}/assistants/{created['id']}", headers=alice.headers).json()
    assert fetched == created


def test_it_retrieves_modifies_and_deletes_through_the_sdk(sdk):
    assistant = sdk.beta.assistants.create(model="demo/echo", name="First", metadata={"v": "1"})

    assert sdk.beta.assistants.retrieve(assistant.id) == assistant

    updated = sdk.beta.assistants.update(assistant.id, name="Second", tools=[FUNCTION_TOOL], metadata={"v": "2"},
                                         instructions="New rules.", model="demo/slow", temperature=0.2)
    assert (updated.name, updated.model, updated.instructions, updated.temperature) == ("Second", "demo/slow", "New rules.", 0.2)
    assert updated.metadata == {"v": "2"}
    assert [t.type for t in updated.tools] == ["function"]
    assert updated.tools[0].function.name == "get_weather"
    assert sdk.beta.assistants.retrieve(assistant.id) == updated

    cleared = sdk.beta.assistants.update(assistant.id, name=None, description=None)
    assert (cleared.name, cleared.description, cleared.model) == (None, None, "demo/slow")

    deleted = sdk.beta.assistants.delete(assistant.id)
    assert deleted.model_dump() == {"id": assistant.id, "object": "assistant.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.beta.assistants.retrieve(assistant.id)
    assert (caught.value.status_code, caught.value.type, caught.value.code) == (404, "invalid_request_error", "not_found")


def test_it_answers_the_delete_envelope_in_raw_json(live_entities, alice, sdk):
    assistant = sdk.beta.assistants.create(model="demo/echo")

    response = httpx.delete(f"{live_entities.v1}/assistants/{assistant.id}", headers=alice.headers)

    assert response.json() == {"id": assistant.id, "object": "assistant.deleted", "deleted": True}
    again = httpx.delete(f"{live_entities.v1}/assistants/{assistant.id}", headers=alice.headers)
    assert again.status_code == 404


def _make_assistants(sdk, count: int) -> list[str]:
    return [sdk.beta.assistants.create(model="demo/echo", name=f"a{i}").id for i in range(count)]


def _walk(sdk, *, order: str, limit: int) -> list[str]:
    """Follow `after` cursors by hand, checking first_id / last_id / has_more on every page."""
    seen, after = [], None
    while True:
        kwargs = {"after": after} if after else {}
        page = sdk.beta.assistants.with_raw_response.list(limit=limit, order=order, **kwargs).http_response.json()
        ids = [item["id"] for item in page["data"]]
        assert page["first_id"] == (ids[0] if ids else None)
        assert page["last_id"] == (ids[-1] if ids else None)
        seen += ids
        if not page["has_more"]:
            return seen
        assert len(ids) == limit
        after = ids[-1]


@pytest.mark.parametrize("same_second", [False, True], ids=["created-fast", "forced-equal-created-at"])
def test_it_pages_in_both_orders_with_after_and_before(sdk, alice, same_second):
    ids = _make_assistants(sdk, 5)
    if same_second:
        Assistant.objects.filter(owner=alice.user).update(created_at=timezone.now() - timedelta(minutes=1))
    rows = Assistant.objects.filter(owner=alice.user).values_list("created_at", "id")
    ascending = [pk for _, pk in sorted(rows)]
    assert sorted(ascending) == sorted(ids)

    assert _walk(sdk, order="asc", limit=2) == ascending
    assert _walk(sdk, order="desc", limit=2) == ascending[::-1]

    desc = ascending[::-1]
    before_page = sdk.beta.assistants.list(limit=2, order="desc", before=desc[3])
    assert [a.id for a in before_page.data] == desc[1:3]
    assert before_page.has_more is True
    asc_before = sdk.beta.assistants.list(limit=10, order="asc", before=ascending[2])
    assert [a.id for a in asc_before.data] == ascending[:2]
    assert asc_before.has_more is False
    between = sdk.beta.assistants.list(order="asc", after=ascending[0], before=ascending[4])
    assert [a.id for a in between.data] == ascending[1:4]


def test_it_auto_pages_every_assistant_exactly_once(sdk, alice):
    ids = _make_assistants(sdk, 7)
    # Half of them share one timestamp, as rows created in the same instant would.
    same = timezone.now()
    Assistant.objects.filter(pk__in=ids[:4]).update(created_at=same)

    visited = [a.id for a in sdk.beta.assistants.list(limit=2)]
    visited_asc = [a.id for a in sdk.beta.assistants.list(limit=3, order="asc")]

    assert sorted(visited) == sorted(ids)
    assert len(set(visited)) == len(visited)
    assert visited_asc == visited[::-1]


def test_it_lists_an_empty_page_with_null_cursors(live_entities, alice):
    page = httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers).json()

    assert page == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"key": "v" * 513}}, "metadata.key"),
        ({"metadata": {"key": 3}}, "metadata.key"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"name": "n" * 257}, "name"),
        ({"description": "d" * 513}, "description"),
        ({"instructions": "i" * 256_001}, "instructions"),
        ({"tools": [{"type": "code_interpreter"}] * 129}, "tools"),
        ({"tools": [{"type": "browser"}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"name": "has space"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function", "function": {"name": "x" * 65}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]}, "tools[0].function.parameters"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"response_format": "json"}, "response_format"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"model": ""}, "model"),
        ({"model": "m" * 257}, "model"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_it_enforces_the_documented_limits(sdk, body, param):
    model = body.pop("model", "demo/echo")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.assistants.create(model=model, extra_body=body)

    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert caught.value.code


def test_it_accepts_values_at_the_limits(sdk):
    assistant = sdk.beta.assistants.create(
        model="demo/echo", name="n" * 256, description="d" * 512, instructions="i" * 256_000,
        metadata={f"{i:0>64}": "v" * 512 for i in range(16)}, tools=[{"type": "code_interpreter"}] * 128,
        temperature=2, top_p=0, response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}},
    )

    assert len(assistant.metadata) == 16
    assert len(assistant.tools) == 128
    assert assistant.response_format.type == "json_schema"


def test_it_requires_a_model(live_entities, alice):
    response = raw_post(live_entities, alice, "/assistants", {"name": "no model"})

    assert response.status_code == 400
    assert response.json() == {"error": {
        "message": "Missing required parameter: 'model'.", "type": "invalid_request_error", "param": "model",
        "code": "missing_required_parameter",
    }}


def test_it_refuses_to_modify_with_an_unknown_field(sdk):
    assistant = sdk.beta.assistants.create(model="demo/echo")

    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.assistants.update(assistant.id, extra_body={"file_ids": ["f"]})

    assert (caught.value.param, caught.value.code) == ("file_ids", "unknown_parameter")


def test_it_lists_the_models_assistants_can_use(sdk):
    models = {m.id: m for m in sdk.models.list()}

    assert {"demo/echo", "demo/slow", "demo/tools"} <= set(models)
    assert models["demo/echo"].model_dump(exclude_unset=True) == {"id": "demo/echo", "object": "model", "created": ANY, "owned_by": "demo"}
    assert sdk.models.retrieve("demo/echo") == models["demo/echo"]
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.models.retrieve("demo/nothing-like-this")
    assert caught.value.code == "model_not_found"
