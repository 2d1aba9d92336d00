"""A thread's first reply from a real model gets a short model-written title, after the reply."""

from __future__ import annotations

import time

import httpx
import pytest
from django.test import override_settings

from conversations.models import Run, Thread
from conversations.services.titles import clean_title
from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, wait_until, …
from testsupport.scenarios import Hang, HttpError, Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

QUESTION = "What is the **capital** of France, and why is it there?"


@pytest.fixture(autouse=True)
def auto_title():
    with override_settings(ENTITIES_AUTO_TITLE=True, ENTITIES_AUTO_TITLE_TIMEOUT=3.0):
        yield


def start(sdk, model: str, text: str = QUESTION):
    assistant = sdk.beta.assistants.create(model=model)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": text}])
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    return assistant, thread, run


def title_of(live_entities, alice, thread_id: str) -> str:
    return httpx.get(f"{live_entities.v1}/threads/{thread_id}", headers=alice.headers).json()["title"]


def test_the_first_reply_from_a_real_model_writes_the_title(live_entities, alice, sdk, cloud):
    cloud.push(Reply(["Paris is the capital."]), Reply(['"Capital of ', 'France."']))
    _, thread, run = start(sdk, "cloud/fake-model")

    wait_until(lambda: title_of(live_entities, alice, thread.id) == "Capital of France", what="the model's title")
    title_request = cloud.requests[1]
    assert title_request["max_tokens"] <= 32 and title_request["model"] == "fake-model"
    assert "Paris is the capital." in title_request["messages"][-1]["content"]
    assert sdk.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"


def test_the_title_call_never_delays_the_reply(live_entities, alice, sdk, cloud):
    cloud.push(Reply(["Paris."]), Reply(["Slow ", "ti", "tle"], delay=0.7))  # gaps under the read timeout
    _, thread, run = start(sdk, "cloud/fake-model")

    done = wait_until(lambda: Run.objects.filter(pk=run.id, status="completed").first(), what="run completed")
    assert title_of(live_entities, alice, thread.id).startswith("What is the")  # the title call still runs
    assert done.status == "completed"
    wait_until(lambda: title_of(live_entities, alice, thread.id) == "Slow title", what="the late title")


@pytest.mark.parametrize("failure", [HttpError(500), Hang(), Reply(["Too ", "slow ", "by ", "far"], delay=0.6), Reply(["  \n"])],
                         ids=["error", "stalled", "past-the-timeout", "empty"])
def test_a_failed_title_call_keeps_the_text_title(live_entities, alice, sdk, cloud, failure):
    cloud.push(Reply(["Paris."]), failure)
    with override_settings(ENTITIES_AUTO_TITLE_TIMEOUT=1.0):
        _, thread, run = start(sdk, "cloud/fake-model")
        wait_until(lambda: len(cloud.requests) >= 2, what="the title call")
        time.sleep(2.5)  # past ENTITIES_AUTO_TITLE_TIMEOUT and the stream's end
    assert title_of(live_entities, alice, thread.id) == "What is the **capital** of France, and why is it there?"


def test_the_demo_and_later_replies_and_renamed_threads_keep_their_title(live_entities, alice, sdk, cloud):
    _, demo_thread, _ = start(sdk, "demo/echo")
    cloud.push(Reply(["Paris."]), Reply(["Capital of France"]))
    assistant, thread, run = start(sdk, "cloud/fake-model")
    wait_until(lambda: title_of(live_entities, alice, thread.id) == "Capital of France", what="the model's title")
    sdk.beta.threads.update(thread.id, extra_body={"title": "Mine"})
    sdk.beta.threads.messages.create(thread.id, role="user", content="And Spain?")
    second = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    wait_until(lambda: Run.objects.filter(pk=second.id, status="completed").exists(), what="second run")
    wait_until(lambda: Run.objects.filter(thread_id=demo_thread.id, status="completed").exists(), what="demo run")
    time.sleep(0.5)

    assert len(cloud.requests) == 3  # two replies and one title call
    assert Thread.objects.get(pk=thread.id).title == "Mine"
    assert title_of(live_entities, alice, demo_thread.id).startswith("What is the")


def test_off_with_the_setting(live_entities, alice, sdk, cloud):
    with override_settings(ENTITIES_AUTO_TITLE=False):
        _, thread, run = start(sdk, "cloud/fake-model")
        wait_until(lambda: Run.objects.filter(pk=run.id, status="completed").exists(), what="run completed")
        time.sleep(0.3)
    assert len(cloud.requests) == 1


@pytest.mark.parametrize(("answer", "title"), [
    ('"Capital of France."', "Capital of France"),
    ("Title: **Paris facts**\nbecause…", "Paris facts"),
    ("# A " + "very " * 20 + "long title", "A " + ("very " * 20)[:57].rstrip() + "…"),
    ("", ""),
])
def test_clean_title(answer, title):
    assert clean_title(answer) == title
