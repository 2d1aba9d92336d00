"""Schemathesis against a live server: the Assistants v2 subset and Entities' own document.

Every generated request (valid and invalid bodies, queries, headers; path parameters
random or alice's real ids) must answer without a 5xx, every 200 in the documented shape,
every error in the envelope. ENTITIES_FUZZ_EXAMPLES sets the examples per operation
(small here; `make fuzz` uses 200 and adds schemathesis' coverage phase).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import hypothesis
import pytest
import requests
import schemathesis
from django.conf import settings
from django.test import override_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from assistants.models import Assistant
from conversations.models import Run, Thread
from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai, fake_ollama
from testsupport.live import sdk_for

EXAMPLES = int(os.environ.get("ENTITIES_FUZZ_EXAMPLES", "5"))
# The long run (`make fuzz`) also plays schemathesis' examples and coverage phases
# (boundary values of every field); the short one only generates.
LONG_RUN = EXAMPLES >= 50
SUBSET = Path(settings.BASE_DIR) / "docs" / "openapi" / "assistants-v2-openapi.yaml"
if not SUBSET.exists():
    SUBSET = Path("/work/shared/reference/assistants-v2-openapi.yaml")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
ENVELOPE_KEYS = {"message", "type", "param", "code"}
CLIENT_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}

FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not LONG_RUN,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate] if LONG_RUN else [hypothesis.Phase.generate],
)


class AliceObjects:
    """Alice's assistant, thread, message, run and step; made again when a fuzzed DELETE removed them."""

    def __init__(self, live, alice) -> None:
        self.client = sdk_for(live, alice)
        self.ids: dict[str, str] = {}

    def current(self) -> dict[str, str]:
        if not self.ids or not (Thread.objects.filter(pk=self.ids["thread_id"]).exists()
                                and Assistant.objects.filter(pk=self.ids["assistant_id"]).exists()):
            self.ids = self._make()
        return self.ids

    def _make(self) -> dict[str, str]:
        sdk = self.client.beta
        assistant = sdk.assistants.create(model="demo/tools", name="fuzzed", tools=[CLIENT_TOOL])
        thread = sdk.threads.create(messages=[{"role": "user", "content": "call lookup"}])
        # demo/tools calls the client-side tool: the run waits in requires_action, so
        # submit_tool_outputs and cancel meet a run that accepts them.
        run = sdk.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
        assert run.status == "requires_action", run
        step = sdk.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
        message = sdk.threads.messages.list(thread.id).data[0]
        return {"assistant_id": assistant.id, "thread_id": thread.id, "message_id": message.id, "run_id": run.id,
                "step_id": step.id, "model": "demo/echo"}


def _hook_real_ids(schema, objects: AliceObjects) -> None:
    """Half of the generated path parameters (and assistant_id bodies) become alice's real ids."""

    def real(generated: dict) -> dict:
        ids = objects.current()
        return {name: ids.get(name, value) for name, value in generated.items()}

    @schema.hook("flatmap_path_parameters")
    def _path(context, path_parameters):
        if not path_parameters:
            return st.just(path_parameters)
        return st.sampled_from([False, True]).map(lambda use: real(path_parameters) if use else path_parameters)

    @schema.hook("flatmap_body")
    def _body(context, body):
        if not isinstance(body, dict) or "assistant_id" not in body:
            return st.just(body)
        return st.sampled_from([False, True]).map(
            lambda use: {**body, "assistant_id": objects.current()["assistant_id"]} if use else body)


def _is_valid_http(request) -> bool:
    """Header names are tokens and values carry no control characters (RFC 9110)."""
    return all(HEADER_NAME.match(name) and not HEADER_VALUE_FORBIDDEN.search(str(value))
               for name, value in request.headers.items())


def _check_envelope(response, case) -> None:
    if response.status_code < 400:
        return
    if response.status_code == 400 and not _is_valid_http(response.request):
        return  # uvicorn refused a request that is not HTTP before Entities saw it
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"{case.method} {case.formatted_path} answered {response.status_code} without JSON: "
                    f"{response.text[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and set(error) == ENVELOPE_KEYS and isinstance(error["message"], str), (
        f"{case.method} {case.formatted_path} answered {response.status_code} outside the envelope: {body!r}")


class Fuzzer:
    def __init__(self, live, alice) -> None:
        self.live = live
        self.alice = alice
        self.session = requests.Session()
        self.calls = 0

    def call(self, case) -> None:
        import time as _t
        _s = _t.perf_counter()
        response = case.call(base_url=self.live.v1, session=self.session, headers=self.alice.headers, timeout=30)
        self.calls += 1
        print("CALLTIME", case.method, case.path, response.status_code, round(_t.perf_counter() - _s, 3))
        # The subset names api.openai.com as its server: never let a request leave loopback.
        assert response.request.url.startswith(self.live.v1), response.request.url
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        _check_envelope(response, case)


@pytest.fixture
def fuzzer(live_entities, alice, fake_openai, fake_ollama):
    # Fuzzed model names route to the fakes (bare names go to `local`): nothing leaves loopback.
    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="t", OLLAMA_HOST=fake_ollama.url,
                           LOCAL_OPENAI_BASE_URL="", INFERENCE_READ_TIMEOUT=2.0):
        InferenceFactory.reset()
        fuzzer = Fuzzer(live_entities, alice)
        fuzzer.objects = AliceObjects(live_entities, alice)
        yield fuzzer
        fuzzer.session.close()
        fuzzer.objects.client.close()
    InferenceFactory.reset()


@pytest.fixture
def subset_schema(fuzzer):
    schema = schemathesis.openapi.from_path(SUBSET)
    schema.config.update(base_url=fuzzer.live.v1)
    _hook_real_ids(schema, fuzzer.objects)
    return schema


@pytest.fixture
def entities_schema(fuzzer):
    schema = schemathesis.openapi.from_url(fuzzer.live.v1 + "/openapi.json", timeout=10)
    schema.config.update(base_url=fuzzer.live.v1)
    _hook_real_ids(schema, fuzzer.objects)
    return schema


subset = schemathesis.pytest.from_fixture("subset_schema")
entities = schemathesis.pytest.from_fixture("entities_schema")


@pytest.mark.slow
@subset.parametrize()
@FUZZ_SETTINGS
def test_it_answers_the_assistants_subset_without_5xx_and_in_shape(case, fuzzer):
    fuzzer.call(case)


@pytest.mark.slow
@entities.parametrize()
@FUZZ_SETTINGS
def test_it_answers_its_own_openapi_document_without_5xx_and_in_shape(case, fuzzer):
    fuzzer.call(case)


def test_it_fuzzes_every_operation_of_both_documents(live_entities):
    """The fuzzing above covers the 23 operations of the subset and Entities' extensions."""
    subset_ops = {(r.ok().method, r.ok().path) for r in schemathesis.openapi.from_path(SUBSET).get_all_operations()}
    own = schemathesis.openapi.from_url(live_entities.v1 + "/openapi.json", timeout=10)
    own_ops = {(r.ok().method, r.ok().path) for r in own.get_all_operations()}

    assert len(subset_ops) == 23
    assert subset_ops < own_ops
    assert {("get", "/models"), ("get", "/models/{model}"), ("get", "/threads"), ("get", "/openapi.json"),
            ("get", "/threads/{thread_id}/runs/{run_id}/events")} <= own_ops - subset_ops


@pytest.mark.slow
@pytest.mark.parametrize("body", [
    {"assistant_id": "asst_x", "stream": True, "tools": [{"type": "function", "function": {"name": "x" * 300}}]},
    {"assistant_id": "asst_x", "metadata": {"k" * 65: "v"}},
    {"assistant_id": "asst_x", "max_prompt_tokens": 2**70},
    {"assistant_id": "asst_x", "truncation_strategy": {"type": "last_messages", "last_messages": 2**70}},
    {"assistant_id": "asst_x", "additional_messages": [{"role": "user", "content": [{"type": "text"}]}]},
    {"assistant_id": "asst_x", "temperature": float("nan")},
])
def test_it_refuses_hostile_run_bodies_in_the_envelope(live_entities, alice, body):
    """Hand-picked inputs hypothesis rarely reaches: huge integers, NaN, over-long keys."""
    client = sdk_for(live_entities, alice)
    assistant = client.beta.assistants.create(model="demo/echo")
    thread = client.beta.threads.create()
    client.close()
    data = json.dumps({**body, "assistant_id": assistant.id}, allow_nan=True)
    response = requests.post(f"{live_entities.v1}/threads/{thread.id}/runs", data=data,
                             headers={**alice.headers, "Content-Type": "application/json"}, timeout=30)

    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == ENVELOPE_KEYS
    assert not Run.objects.exists()
