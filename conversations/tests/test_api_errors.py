"""Every failure under /v1 answers the Assistants error envelope, never HTML or a bare status."""

from __future__ import annotations

import httpx
import openai
import pytest
from django.conf import settings

ENVELOPE_KEYS = {"message", "type", "param", "code"}


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("path", ["/nope", "/threads/t/messages/m/extra", "/assistants/a/b", ""])
def test_it_answers_unknown_paths_with_a_json_404(live_entities, alice, path):
    for headers in (alice.headers, {}):
        assert_envelope(httpx.get(live_entities.v1 + path, headers=headers), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/assistants"), ("PATCH", "/assistants/asst_x"), ("GET", "/threads/runs"),
     ("DELETE", "/threads/t/runs/r"), ("DELETE", "/threads/t/runs/r/steps"), ("GET", "/threads/t/runs/r/cancel")],
)
def test_it_answers_wrong_methods_with_a_405_envelope(live_entities, alice, method, path):
    response = httpx.request(method, live_entities.v1 + path, headers=alice.headers)

    assert_envelope(response, 405, "method_not_allowed")


def test_it_refuses_a_body_over_the_limit_with_413(live_entities, alice):
    body = b'{"model": "' + b"x" * settings.ENTITIES_MAX_BODY_BYTES + b'"}'

    response = httpx.post(f"{live_entities.v1}/assistants", content=body,
                          headers={**alice.headers, "Content-Type": "application/json"})

    assert_envelope(response, 413, "request_too_large")


def test_it_answers_invalid_json_with_400(live_entities, alice):
    response = httpx.post(f"{live_entities.v1}/assistants", content=b'{"model": ',
                          headers={**alice.headers, "Content-Type": "application/json"})

    assert_envelope(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [[{"model": "demo/echo"}], "demo/echo", 3])
def test_it_wants_a_json_object(live_entities, alice, body):
    response = httpx.post(f"{live_entities.v1}/assistants", json=body, headers=alice.headers)

    error = assert_envelope(response, 400, "invalid_type")
    assert error["message"] == "The request body must be a JSON object."


def test_it_wants_json_rather_than_a_form(live_entities, alice):
    response = httpx.post(f"{live_entities.v1}/assistants", data={"model": "demo/echo"}, headers=alice.headers)

    assert_envelope(response, 400)


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream", "text/html", "image/png"])
def test_it_never_answers_406(live_entities, alice, accept):
    response = httpx.get(f"{live_entities.v1}/assistants", headers={**alice.headers, "Accept": accept})

    assert response.status_code == 200
    assert response.json()["object"] == "list"


@pytest.mark.parametrize(("method", "path"), [("GET", "/assistants"), ("POST", "/threads"), ("GET", "/threads/t_x")])
def test_it_refuses_the_v1_beta_header(live_entities, alice, method, path):
    response = httpx.request(method, live_entities.v1 + path, headers={**alice.headers, "OpenAI-Beta": "assistants=v1"})

    error = assert_envelope(response, 400, "invalid_beta")
    assert error["type"] == "invalid_request_error"
    assert "assistants=v2" in error["message"]


@pytest.mark.parametrize("beta", [None, "assistants=v2", "realtime=v1, assistants=v2"])
def test_it_accepts_a_missing_or_v2_beta_header(live_entities, alice, beta):
    headers = {"Authorization": alice.headers["Authorization"]}
    if beta is not None:
        headers["OpenAI-Beta"] = beta

    assert httpx.get(f"{live_entities.v1}/assistants", headers=headers).status_code == 200


@pytest.fixture
def list_paths(sdk):
    thread = sdk.beta.threads.create()
    return ["/assistants", "/threads", f"/threads/{thread.id}/messages", f"/threads/{thread.id}/runs"]


@pytest.mark.parametrize(
    ("query", "param"),
    [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "abc"}, "limit"),
     ({"order": "sideways"}, "order"), ({"after": "x_unknown"}, "after"), ({"before": "x_unknown"}, "before")],
)
def test_it_validates_list_parameters(live_entities, alice, list_paths, query, param):
    for path in list_paths:
        response = httpx.get(live_entities.v1 + path, params=query, headers=alice.headers)

        assert assert_envelope(response, 400)["param"] == param, path


def test_it_accepts_the_list_parameter_bounds(live_entities, alice, list_paths):
    for path in list_paths:
        for query in ({"limit": "1"}, {"limit": "100", "order": "asc"}):
            assert httpx.get(live_entities.v1 + path, params=query, headers=alice.headers).status_code == 200


def test_the_sdk_raises_typed_errors_with_every_field(sdk):
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.beta.threads.retrieve("thread_missing")
    with pytest.raises(openai.BadRequestError) as invalid:
        sdk.beta.assistants.create(model="demo/echo", temperature=9)

    assert (missing.value.status_code, missing.value.type, missing.value.code) == (404, "invalid_request_error", "not_found")
    assert "thread_missing" in missing.value.message
    assert (invalid.value.status_code, invalid.value.type, invalid.value.param, invalid.value.code) == (
        400, "invalid_request_error", "temperature", "invalid_value")


def test_it_serves_the_openapi_document_without_credentials(live_entities):
    response = httpx.get(f"{live_entities.v1}/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert len([p for p in spec["paths"] if p.startswith(("/assistants", "/threads"))]) >= 13
    extensions = {path for path, ops in spec["paths"].items()
                  for op in ops.values() if isinstance(op, dict) and op.get("x-entities-extension")}
    assert extensions >= {"/models", "/threads", "/threads/{thread_id}/runs/{run_id}/events"}
    assert spec["paths"]["/threads"]["post"]["operationId"] == "createThread"
    assert "title" in spec["components"]["schemas"]["ModifyThreadRequest"]["properties"]
    assert len([p for p in spec["paths"] if p.startswith("/vector_stores")]) == 10
    assert spec["paths"]["/vector_stores/{vector_store_id}/search"]["post"]["operationId"] == "searchVectorStore"
