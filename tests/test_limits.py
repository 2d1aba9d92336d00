"""Limits: request rates per API key and per user, body size, active runs per user, and the
bounds on one run (tool rounds, total tokens). Each answers in the error envelope, and the
official SDK raises the exception a client expects.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json

import httpx
import openai
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from assistants.keys import api_key_create
from conversations.models import ACTIVE_RUN_STATUSES, Message, Run
from kernel.api.throttling import ApiKeyRateThrottle, UserRateThrottle
from inference.factory import InferenceFactory
from testsupport.fixtures import *  # noqa: F401,F403 — fake_openai
from testsupport.invariants import assert_store_consistent
from testsupport.live import sdk_for
from testsupport.scenarios import ToolCalls

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks assistants deprecated


def _rates(api_key: str = "1000/min", user: str = "1000/min"):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK,
                                             "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "user": user}})


def _forget_history(*people) -> None:
    """Drop earlier requests' throttle history (user ids repeat across tests)."""
    for person in people:
        cache.delete(UserRateThrottle.cache_format % {"scope": "user", "ident": person.user.pk})
        for key in person.user.api_keys.all():
            cache.delete(ApiKeyRateThrottle.cache_format % {"scope": "api_key", "ident": key.prefix})


@pytest.fixture
def cloud(fake_openai):
    with override_settings(OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="t", INFERENCE_READ_TIMEOUT=2.0):
        InferenceFactory.reset()
        yield fake_openai
    InferenceFactory.reset()


# --- request rates -------------------------------------------------------------------------

def test_it_throttles_an_api_key_with_429_retry_after_in_the_envelope(live_entities, alice):
    _forget_history(alice)
    with _rates(api_key="3/min"):
        answers = [httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers) for _ in range(4)]

    refused = answers[-1]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json() == {"error": {
        "message": f"Rate limit reached: too many requests. Retry after {refused.headers['Retry-After']} seconds.",
        "type": "rate_limit_exceeded", "param": None, "code": "rate_limit_exceeded"}}


def test_the_sdk_raises_rate_limit_error_with_the_envelope(live_entities, alice):
    _forget_history(alice)
    client = sdk_for(live_entities, alice)
    with _rates(api_key="2/min"):
        client.beta.assistants.list()
        client.beta.threads.create()
        with pytest.raises(openai.RateLimitError) as refused:
            client.beta.threads.create()
    client.close()

    error = refused.value
    retry = error.response.headers["retry-after"]
    assert (error.status_code, error.type, error.code, error.param) == (429, "rate_limit_exceeded",
                                                                        "rate_limit_exceeded", None)
    assert error.body == {"message": f"Rate limit reached: too many requests. Retry after {retry} seconds.",
                          "type": "rate_limit_exceeded", "param": None, "code": "rate_limit_exceeded"}


def test_it_throttles_a_user_across_all_of_their_keys(live_entities, alice, bob):
    second = api_key_create(user=alice.user, name="second").raw
    _forget_history(alice, bob)
    keys = [alice.api_key, second] * 3
    with _rates(user="4/min"):
        alices = [httpx.get(f"{live_entities.v1}/threads", headers={"Authorization": f"Bearer {k}"}).status_code
                  for k in keys]
        bobs = httpx.get(f"{live_entities.v1}/threads", headers=bob.headers).status_code

    assert alices == [200, 200, 200, 200, 429, 429]
    assert bobs == 200  # one user's limit is not another's


def test_a_throttled_key_leaves_the_users_other_key_alone(live_entities, alice):
    second = api_key_create(user=alice.user, name="second").raw
    _forget_history(alice)
    with _rates(api_key="2/min"):
        first = [httpx.get(f"{live_entities.v1}/threads", headers=alice.headers).status_code for _ in range(3)]
        other = httpx.get(f"{live_entities.v1}/threads", headers={"Authorization": f"Bearer {second}"}).status_code

    assert (first, other) == ([200, 200, 429], 200)


# --- request size ------------------------------------------------------------------------------

def test_it_refuses_a_body_over_the_limit_with_413_in_the_envelope(live_entities, alice):
    with override_settings(ENTITIES_MAX_BODY_BYTES=4096):
        small = httpx.post(f"{live_entities.v1}/threads", json={"metadata": {"k": "v"}}, headers=alice.headers)
        big = httpx.post(f"{live_entities.v1}/threads", headers=alice.headers,
                         json={"messages": [{"role": "user", "content": "x" * 5000}]})

    assert small.status_code == 200
    assert (big.status_code, big.json()) == (413, {"error": {
        "message": f"Request body is {len(big.request.content)} bytes; the limit is 4096 bytes.",
        "type": "invalid_request_error", "param": None, "code": "request_too_large"}})


def test_the_sdk_gets_413_as_an_api_status_error(live_entities, alice):
    client = sdk_for(live_entities, alice)
    with override_settings(ENTITIES_MAX_BODY_BYTES=4096), pytest.raises(openai.APIStatusError) as refused:
        client.beta.threads.create(messages=[{"role": "user", "content": "x" * 5000}])
    client.close()

    assert (refused.value.status_code, refused.value.code) == (413, "request_too_large")


def _raw_chunked_post(port: int, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
    """A POST with `Transfer-Encoding: chunked` and no Content-Length (as streaming clients send)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        pieces = (body[i:i + 1024] for i in range(0, len(body), 1024))
        conn.request("POST", path, body=pieces, encode_chunked=True,
                     headers={**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _thread_body(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()


def test_a_chunked_body_is_read_and_held_to_the_limit_too(live_entities, alice):
    with override_settings(ENTITIES_MAX_BODY_BYTES=4096):
        small = _raw_chunked_post(live_entities.port, "/v1/threads", alice.headers, _thread_body("y" * 3000))
        big = _raw_chunked_post(live_entities.port, "/v1/threads", alice.headers, _thread_body("x" * 6000))

    assert small[0] == 200, small
    assert [m.text() for m in Message.objects.filter(thread_id=json.loads(small[1])["id"])] == ["y" * 3000]
    assert (big[0], json.loads(big[1])) == (413, {"error": {
        "message": "Request body is over the limit of 4096 bytes.", "type": "invalid_request_error", "param": None,
        "code": "request_too_large"}})


# --- active runs per user --------------------------------------------------------------------

def test_it_caps_a_users_active_runs_with_429(live_entities, alice, bob):
    client = sdk_for(live_entities, alice)
    slow = client.beta.assistants.create(model="demo/slow")
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": f"story {i}"}]) for i in range(3)]
    with override_settings(ENTITIES_MAX_ACTIVE_RUNS_PER_USER=2):
        running = [client.beta.threads.runs.create(thread_id=t.id, assistant_id=slow.id) for t in threads[:2]]
        with pytest.raises(openai.RateLimitError) as third:
            client.beta.threads.runs.create(thread_id=threads[2].id, assistant_id=slow.id)
        with pytest.raises(openai.RateLimitError):
            client.beta.threads.create_and_run(assistant_id=slow.id)
        bobs = sdk_for(live_entities, bob)
        bob_run = bobs.beta.threads.create_and_run(assistant_id=bobs.beta.assistants.create(model="demo/echo").id)
        client.beta.threads.runs.cancel(running[0].id, thread_id=threads[0].id)
        freed = _wait_until_created(client, threads[2].id, slow.id)

    assert (third.value.code, third.value.type) == ("rate_limit_exceeded", "rate_limit_exceeded")
    assert "2 active runs" in third.value.message
    assert bob_run.status == "queued"
    assert freed.status in ("queued", "in_progress")
    for run in (running[1], freed):
        client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
    assert_store_consistent()
    client.close()
    bobs.close()


def _wait_until_created(client, thread_id: str, assistant_id: str, timeout: float = 10.0):
    """Create a run once the cancelled one has ended (429 until then)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
        except openai.RateLimitError:
            assert time.monotonic() < deadline, "the cancelled run never freed its place"
            time.sleep(0.05)


@pytest.mark.slow
def test_concurrent_creates_never_exceed_the_active_run_limit(live_entities, alice):
    client = sdk_for(live_entities, alice)
    slow = client.beta.assistants.create(model="demo/slow")
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": f"race {i}"}]) for i in range(12)]

    def create(thread):
        try:
            return client.beta.threads.runs.create(thread_id=thread.id, assistant_id=slow.id).status
        except openai.RateLimitError:
            return 429

    with override_settings(ENTITIES_MAX_ACTIVE_RUNS_PER_USER=3):
        with concurrent.futures.ThreadPoolExecutor(len(threads)) as pool:
            outcomes = list(pool.map(create, threads))
        active = Run.objects.filter(owner=alice.user, status__in=ACTIVE_RUN_STATUSES).count()

    assert active == 3
    assert sorted(outcomes, key=str) == sorted(["queued"] * 3 + [429] * 9, key=str)
    for run in Run.objects.filter(owner=alice.user, status__in=ACTIVE_RUN_STATUSES):
        client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)
    assert_store_consistent()
    client.close()


# --- the bounds of one run -----------------------------------------------------------------

def test_a_model_that_never_stops_calling_tools_fails_at_max_tool_rounds(live_entities, alice, cloud):
    cloud.push(*[ToolCalls([("not_a_tool", "{}")]) for _ in range(10)])
    client = sdk_for(live_entities, alice)
    assistant = client.beta.assistants.create(model="cloud/fake-model")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "loop forever"}])
    with override_settings(ENTITIES_MAX_TOOL_ROUNDS=3):
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                       poll_interval_ms=20)

    assert (run.status, run.last_error.code) == ("failed", "server_error")
    assert "ENTITIES_MAX_TOOL_ROUNDS=3" in run.last_error.message
    assert len(cloud.requests) == 3
    assert_store_consistent()
    client.close()


def test_a_run_that_spends_its_token_budget_ends_incomplete(live_entities, alice, cloud):
    cloud.push(*[ToolCalls([("not_a_tool", "{}")], usage=(1000, 10)) for _ in range(5)])
    client = sdk_for(live_entities, alice)
    assistant = client.beta.assistants.create(model="cloud/fake-model")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "spend"}])
    with override_settings(ENTITIES_MAX_RUN_TOKENS=1500):
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id,
                                                       poll_interval_ms=20)

    assert (run.status, run.incomplete_details.reason, run.usage.total_tokens) == (
        "incomplete", "max_completion_tokens", 2020)
    assert len(cloud.requests) == 2  # the budget was passed after the second turn: no third call
    assert_store_consistent()
    client.close()
