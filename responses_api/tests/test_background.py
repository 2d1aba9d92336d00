"""Background responses: retrieve while running, cancel (the model server is let go), and
resume the event stream with `starting_after`."""

from __future__ import annotations

import time

import openai
import pytest

from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Hang, Reply
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture


def _wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_background_response_answers_at_once_and_completes_later(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS, delay=0.05))
    started = sdk.responses.create(model="cloud/x", input="Say hello", background=True)
    # The engine may have claimed the run before the view read it back.
    assert (started.status in ("queued", "in_progress"), started.background, started.output) == (True, True, [])

    done = _wait_for(lambda: (r := sdk.responses.retrieve(started.id)).status == "completed" and r)
    assert done.output_text == FAKE_TEXT


def test_cancel_stops_the_model_and_the_response_reads_cancelled(sdk, cloud):
    cloud.push(Hang(after_chunks=2))
    started = sdk.responses.create(model="cloud/x", input="one two three four", background=True)
    _wait_for(lambda: sdk.responses.retrieve(started.id).status == "in_progress")
    _wait_for(lambda: cloud.requests)

    cancelled = sdk.responses.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert cloud.wait_for_disconnect(timeout=3), "the model server was left generating"
    assert sdk.responses.retrieve(started.id).status == "cancelled"


def test_only_background_responses_can_be_cancelled(sdk):
    response = sdk.responses.create(model="demo/echo", input="hi")
    with pytest.raises(openai.BadRequestError):
        sdk.responses.cancel(response.id)


def test_the_stream_resumes_after_a_sequence_number_with_the_same_events(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS))
    with sdk.responses.stream(model="cloud/x", input="Say hello", background=True) as stream:
        whole = [e.model_dump() for e in stream]
        response_id = stream.get_final_response().id

    assert [e["type"] for e in whole[:3]] == ["response.created", "response.queued", "response.in_progress"]
    resumed = sdk.responses.retrieve(response_id, stream=True, starting_after=5)
    tail = [e.model_dump() for e in resumed]
    # The stream helper adds `snapshot` to deltas and parses the final response; the wire events match.
    assert [(e["type"], e["sequence_number"], e.get("delta")) for e in tail] == [
        (e["type"], e["sequence_number"], e.get("delta")) for e in whole[6:]]
    assert "".join(e["delta"] for e in tail if e["type"] == "response.output_text.delta") == FAKE_TEXT[
        len(FAKE_CHUNKS[0]):]
    assert tail[-1]["response"]["output"][0]["content"][0]["text"] == FAKE_TEXT


def test_a_stream_can_attach_to_a_running_background_response(sdk, cloud):
    cloud.push(Reply(FAKE_CHUNKS, delay=0.1))
    started = sdk.responses.create(model="cloud/x", input="Say hello", background=True)
    with sdk.responses.stream(response_id=started.id) as stream:
        final = stream.get_final_response()
    assert (final.id, final.output_text) == (started.id, FAKE_TEXT)


def test_a_stream_replayed_from_stored_state_is_still_well_formed(sdk, cloud, live_entities):
    """Once no process keeps the run's event log, the stream is rebuilt from the stored reply."""
    from conversations.models import Run
    from testsupport.sse import forget_event_log

    cloud.push(Reply(FAKE_CHUNKS))
    done = sdk.responses.create(model="cloud/x", input="Say hello")
    forget_event_log(live_entities, Run.objects.get(responses__id=done.id).pk)

    with sdk.responses.stream(response_id=done.id) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert final.output_text == FAKE_TEXT and final.id == done.id
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.output_text.delta" in types and "response.output_item.done" in types
