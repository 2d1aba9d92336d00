"""Schemathesis against a live server: the Assistants v2 subset and Entities' own document.

Every generated request (valid and invalid bodies, queries, headers; path parameters
random or alice's real ids) must answer without a 5xx, every 200 in the documented shape,
every error in the envelope. ENTITIES_FUZZ_EXAMPLES sets the examples per operation
(small here; `make fuzz` uses 200 and adds schemathesis' coverage phase).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import hypothesis
import pytest
import requests
import schemathesis
import yaml
from django.conf import settings
from django.test import override_settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture.utils import many as conjecture_many
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from assistants.models import Assistant
from conversations.models import Run, Thread
from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai, fake_ollama
from testsupport.invariants import assert_store_consistent
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
EXTENSIONS = Path(settings.BASE_DIR) / "docs" / "openapi" / "entities.yaml"
ENVELOPE_KEYS = {"message", "type", "param", "code"}
CLIENT_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}

# hypothesis-jsonschema 0.23.1 (schemathesis' generator) calls conjecture's many().more(),
# which hypothesis removed in 6.170.10: every object strategy then fails to draw.
if not hasattr(conjecture_many, "more"):
    pytest.fail(f"hypothesis {hypothesis.__version__} breaks hypothesis-jsonschema (many.more() is gone); "
                "pin hypothesis<6.170.10 in requirements-dev.txt", pytrace=False)

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
        document = self.client.files.create(file=("notes.md", b"# Notes\n\nThe fuzzer's own file.\n"),
                                            purpose="assistants")
        store = self.client.vector_stores.create(name="fuzzed", file_ids=[document.id])
        batch = self.client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[document.id])
        return {"assistant_id": assistant.id, "thread_id": thread.id, "message_id": message.id, "run_id": run.id,
                "step_id": step.id, "model": "demo/echo", "vector_store_id": store.id, "file_id": document.id,
                "batch_id": batch.id}


def _hook_real_ids(schema, objects: AliceObjects) -> None:
    """Half of the generated path parameters (and assistant_id bodies) become alice's real ids."""

    def real_path(generated: dict, use: bool) -> dict:
        ids = objects.current() if use else {}
        return {name: ids.get(name, value) for name, value in generated.items()}

    def real_body(generated: dict, use: bool) -> dict:
        return {**generated, "assistant_id": objects.current()["assistant_id"]} if use else generated

    # Named functions, not lambdas: hypothesis parses a lambda's source to describe it, which
    # CPython 3.11.7 can crash on deep in a failing test's stack (an AST recursion SystemError).
    @schema.hook("flatmap_path_parameters")
    def _path(context, path_parameters):
        if not path_parameters:
            return st.just(path_parameters)
        return st.booleans().map(functools.partial(real_path, path_parameters))

    @schema.hook("flatmap_body")
    def _body(context, body):
        if not isinstance(body, dict) or "assistant_id" not in body:
            return st.just(body)
        return st.booleans().map(functools.partial(real_body, body))


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
        response = case.call(base_url=self.live.v1, session=self.session, headers=self.alice.headers, timeout=30)
        self.calls += 1
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
        # Whatever the fuzzed requests started has ended cleanly (alice's run waits for outputs).
        assert_store_consistent(allow_requires_action=True, unique_user_texts=False)
    InferenceFactory.reset()


@pytest.fixture
def subset_schema(fuzzer):
    schema = schemathesis.openapi.from_path(SUBSET)
    schema.config.update(base_url=fuzzer.live.v1)
    _hook_real_ids(schema, fuzzer.objects)
    return schema


def _differs_from_subset(ctx) -> bool:
    """Operations of Entities' document that the subset does not fuzz already: the extensions,
    the vector stores, and those whose schemas Entities patches (the others are the subset's,
    unchanged)."""
    definition = ctx.operation.definition.raw
    patched = yaml.safe_load(EXTENSIONS.read_text()).get("x-entities-schema-patches", {})
    return bool(definition.get("x-entities-extension")) or ctx.operation.path.startswith("/vector_stores") or any(
        f"#/components/schemas/{name}" in json.dumps(definition) for name in patched)


@pytest.fixture
def entities_schema(fuzzer):
    schema = schemathesis.openapi.from_url(fuzzer.live.v1 + "/openapi.json", timeout=10)
    schema.config.update(base_url=fuzzer.live.v1)
    _hook_real_ids(schema, fuzzer.objects)
    return schema


subset = schemathesis.pytest.from_fixture("subset_schema")
entities = schemathesis.pytest.from_fixture("entities_schema").include(_differs_from_subset)


# The long run takes many minutes: past pytest.ini's 300 s per test.
LONG_TIMEOUT = pytest.mark.timeout(3600 if LONG_RUN else 300)


@pytest.mark.slow
@LONG_TIMEOUT
@subset.parametrize()
@FUZZ_SETTINGS
def test_it_answers_the_assistants_subset_without_5xx_and_in_shape(case, fuzzer):
    fuzzer.call(case)


@pytest.mark.slow
@LONG_TIMEOUT
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
    assert {("post", "/vector_stores"), ("post", "/vector_stores/{vector_store_id}/search"),
            ("post", "/vector_stores/{vector_store_id}/file_batches"),
            ("get", "/vector_stores/{vector_store_id}/files/{file_id}/content")} <= own_ops - subset_ops


# Hand-picked inputs hypothesis rarely reaches: huge integers, NaN, over-long names and keys.
HOSTILE_RUN_BODIES = [
    ({"tools": [{"type": "function", "function": {"name": "x" * 300}}], "stream": True}, "tools[0].function.name"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"max_prompt_tokens": 2**70}, "max_prompt_tokens"),
    ({"truncation_strategy": {"type": "last_messages", "last_messages": 2**70}}, "truncation_strategy.last_messages"),
    ({"additional_messages": [{"role": "user", "content": [{"type": "text"}]}]}, "additional_messages[0].content[0].text"),
    ({"temperature": float("nan")}, None),
]


def test_it_refuses_hostile_run_bodies_in_the_envelope(live_entities, alice):
    client = sdk_for(live_entities, alice)
    assistant = client.beta.assistants.create(model="demo/echo")
    thread = client.beta.threads.create()
    client.close()
    answers = []
    for body, _ in HOSTILE_RUN_BODIES:
        data = json.dumps({**body, "assistant_id": assistant.id}, allow_nan=True)
        response = requests.post(f"{live_entities.v1}/threads/{thread.id}/runs", data=data,
                                 headers={**alice.headers, "Content-Type": "application/json"}, timeout=30)
        error = response.json().get("error") or {}
        answers.append((response.status_code, set(error) == ENVELOPE_KEYS, error.get("param")))

    assert answers == [(400, True, param) for _, param in HOSTILE_RUN_BODIES]
    assert not Run.objects.exists()


# U+0000 is legal JSON but PostgreSQL can store or compare it nowhere: found by the fuzzer there.
NUL_REQUESTS = [
    ("GET", "/assistants/asst_%00x", None, 404),
    ("GET", "/threads/thread_%00x/messages", None, 404),
    ("GET", "/threads?after=thread_%00x", None, 400),
    ("POST", "/threads", {"metadata": {"k": "a\x00b"}}, 400),
    ("POST", "/threads", {"metadata": {"k\x00": "v"}}, 400),
    ("POST", "/threads", {"messages": [{"role": "user", "content": "a\x00b"}]}, 400),
    ("POST", "/assistants", {"model": "demo/echo", "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "description": "a\x00b"}}}]}, None),
]


def test_it_answers_nul_characters_in_the_envelope_on_every_database(live_entities, alice):
    answers = []
    for method, path, body, _ in NUL_REQUESTS:
        response = requests.request(method, live_entities.v1 + path, json=body, headers=alice.headers, timeout=30)
        error = response.json().get("error") or {}
        answers.append((response.status_code, set(error) == ENVELOPE_KEYS))

    # The nested schema is stored as JSON: SQLite keeps it (200), PostgreSQL's jsonb refuses it (400).
    assert answers[:-1] == [(status, True) for *_, status in NUL_REQUESTS[:-1]]
    assert answers[-1] in ((200, False), (400, True))
