"""The WebSocket protocol (docs/websocket.md) through Channels' WebsocketCommunicator.

The communicator drives the real ASGI application on the test's event loop, and the
application binds the run engine to that loop, so runs execute here as in a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from assistants.services import assistant_create
from conversations.engine.runtime import runtime
from conversations.models import Message, Run
from conversations.services.runs import run_create
from conversations.services.threads import thread_create
from entities_project.asgi import application
from testsupport.ws import (
    collect, communicator_receive, event_names, events, is_done, is_type, nth_delta, seqs, text_of,
)

pytestmark = pytest.mark.django_db(transaction=True)

TEXT_REPLY = [
    "thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
    "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
]
TEXT_END = ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]
LOOKUP = {"type": "function", "function": {"name": "lookup_order", "parameters": {
    "type": "object", "properties": {"order": {"type": "string"}}}}}


@pytest.fixture(autouse=True)
async def engine() -> AsyncIterator[None]:
    yield
    await runtime.shutdown(timeout=2)  # the runs of this test's loop end with it


@pytest.fixture
def thread(alice):
    return thread_create(user=alice.user)


@pytest.fixture
def echo(alice):
    return assistant_create(user=alice.user, model="demo/echo")


@pytest.fixture
def slow(alice):
    return assistant_create(user=alice.user, model="demo/slow")


def socket(thread_id: str, token: str | None = None, headers=None) -> WebsocketCommunicator:
    path = f"/ws/threads/{thread_id}/" + (f"?token={token}" if token else "")
    return WebsocketCommunicator(application, path, headers=headers or [])


async def connected(thread_id: str, token: str) -> tuple[WebsocketCommunicator, dict]:
    """An open socket and its `ready` frame."""
    communicator = socket(thread_id, token)
    ok, _ = await communicator.connect()
    assert ok
    return communicator, await communicator.receive_json_from(timeout=5)


async def request(communicator: WebsocketCommunicator, frame: dict) -> dict:
    """Send a client frame and return its `accepted` answer (late thread.run notices may come first)."""
    await communicator.send_json_to(frame)
    frames = await collect(communicator_receive(communicator), lambda f: f["type"] in ("accepted", "error"))
    assert frames[-1]["type"] == "accepted", frames[-1]
    return frames[-1]


async def send(communicator: WebsocketCommunicator, assistant, content: str) -> str:
    """A `send` frame; the id of the run it started."""
    return (await request(communicator, {"type": "send", "assistant_id": assistant.id, "content": content}))["run_id"]


def reply_order(frames) -> list[str]:
    names = event_names(frames)
    deltas = names.count("thread.message.delta")
    assert deltas > 0
    assert names == TEXT_REPLY + ["thread.message.delta"] * deltas + TEXT_END
    return names


# -- connecting -------------------------------------------------------------------------------

async def close_code(communicator: WebsocketCommunicator) -> int:
    """The code a refused socket is closed with (after an accept, so that browsers see it)."""
    assert await communicator.connect() == (True, None)
    closing = await communicator.receive_output(timeout=5)
    assert closing["type"] == "websocket.close"
    return closing["code"]


async def test_it_closes_an_anonymous_socket_with_4401(thread):
    for communicator in (socket(thread.id), socket(thread.id, token="not-a-token")):
        assert await close_code(communicator) == 4401


async def test_it_closes_a_socket_for_another_users_thread_or_an_unknown_one_with_4404(thread, bob):
    assert await close_code(socket(thread.id, bob.api_key)) == 4404
    assert await close_code(socket("thread_nope", bob.api_key)) == 4404


async def test_it_refuses_a_browser_origin_that_is_not_an_allowed_host(thread, alice):
    communicator = socket(thread.id, alice.api_key, headers=[(b"origin", b"https://evil.example")])
    connected_ok, _ = await communicator.connect()
    assert not connected_ok


@pytest.fixture
def session_cookie(alice) -> bytes:
    client = Client()
    client.force_login(alice.user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.parametrize("how", ["api_key", "jwt", "session"])
async def test_it_accepts_an_api_key_a_jwt_or_the_browser_session(thread, alice, session_cookie, how):
    if how == "session":
        communicator = socket(thread.id, headers=[(b"cookie", session_cookie), (b"origin", b"http://localhost"),
                                                  (b"host", b"localhost")])
    else:
        token = alice.api_key if how == "api_key" else str(AccessToken.for_user(alice.user))
        communicator = socket(thread.id, token)

    assert await communicator.connect() == (True, None)
    assert await communicator.receive_json_from(timeout=5) == {"type": "ready", "thread_id": thread.id,
                                                               "active_run": None}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


# -- bad frames -------------------------------------------------------------------------------

async def test_it_answers_bad_frames_with_an_error_frame_and_keeps_the_socket(thread, alice, echo):
    communicator, _ = await connected(thread.id, alice.api_key)

    async def answer(**frame):
        if "raw" in frame:
            await communicator.send_to(text_data=frame["raw"])
        elif "binary" in frame:
            await communicator.send_to(bytes_data=frame["binary"])
        else:
            await communicator.send_json_to(frame)
        return await communicator.receive_json_from(timeout=5)

    def error(message, param, request_type=None, code=None):
        return {"type": "error", "request_type": request_type,
                "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}

    known = " Known: send, cancel, subscribe, submit_tool_outputs, regenerate, edit, ping."
    assert await answer(raw="{not json") == error("The frame is not valid JSON." + known, "type")
    assert await answer(raw="[1, 2]") == error("A frame must be a JSON object with a 'type'.", None)
    assert await answer(binary=b"\x00\x01") == error("Send JSON text frames of at most 512 KiB.", None)
    assert await answer(raw="x" * (512 * 1024 + 1)) == error("Send JSON text frames of at most 512 KiB.", None)
    assert await answer(type="dance") == error("Unknown frame type 'dance'." + known, "type")
    assert await answer(type="send", content="hi") == error("'assistant_id' is required.", "assistant_id", "send")
    assert (await answer(type="send", assistant_id="asst_nope", content="hi"))["error"]["param"] == "assistant_id"
    assert await answer(type="send", assistant_id=echo.id, content="  ") == error(
        "The message is empty.", "content", "send")
    assert await answer(type="cancel") == error("No active run on this thread.", "run_id", "cancel")
    assert (await answer(type="cancel", run_id="run_nope"))["error"]["type"] == "invalid_request_error"
    assert await answer(type="subscribe", run_id=7) == error("'run_id' must be a string.", "run_id", "subscribe")
    assert (await answer(type="submit_tool_outputs", tool_outputs=[]))["request_type"] == "submit_tool_outputs"
    assert await answer(type="ping") == {"type": "pong"}  # still open
    assert not await database_sync_to_async(Run.objects.exists)()
    await communicator.disconnect()


# -- runs -------------------------------------------------------------------------------------

async def test_it_sends_the_message_then_streams_the_run_and_says_done(thread, alice, echo):
    communicator, ready = await connected(thread.id, alice.api_key)
    assert ready["active_run"] is None

    accepted = await request(communicator, {"type": "send", "assistant_id": echo.id, "content": "hello socket"})
    frames = await collect(communicator_receive(communicator), is_done(accepted["run_id"]))

    run = await Run.objects.aget(pk=accepted["run_id"])
    assert accepted == {"type": "accepted", "request_type": "send", "message_id": accepted["message_id"],
                        "run_id": run.id}
    user_message = await Message.objects.aget(pk=accepted["message_id"])
    assert (user_message.role, user_message.content[0]["text"]["value"]) == ("user", "hello socket")
    # Only this run's frames, besides the thread's run notices.
    assert {f["type"] for f in frames} <= {"event", "done", "thread.run"}
    reply_order(frames)
    assert seqs(frames) == list(range(1, len(events(frames)) + 1))
    assert frames[-1] == {"type": "done", "run_id": run.id, "seq": run.event_seq}
    assert events(frames)[-1]["data"]["status"] == run.status == "completed"
    reply = await Message.objects.aget(run=run)
    assert text_of(frames) == reply.content[0]["text"]["value"]
    assert "You said: hello socket" in text_of(frames)
    await communicator.disconnect()


async def test_it_cancels_a_running_run_keeping_the_partial_reply(thread, alice, slow):
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    run_id = await send(communicator, slow, "take your time")
    before = await collect(receive, nth_delta(1))

    await communicator.send_json_to({"type": "cancel", "run_id": run_id})
    after = await collect(receive, is_done(run_id))

    [accepted] = [f for f in after if f["type"] == "accepted"]
    assert accepted == {"type": "accepted", "request_type": "cancel", "run_id": run_id, "status": "cancelling"}
    # The answer comes before anything the cancel caused.
    assert after.index(accepted) < next(i for i, f in enumerate(after) if f.get("event") == "thread.run.cancelling")
    names = event_names(before + after)
    tail = [n for n in names[names.index("thread.run.cancelling"):] if not n.startswith("thread.run.step.")]
    assert tail == ["thread.run.cancelling", "thread.message.incomplete", "thread.run.cancelled"]
    run = await Run.objects.aget(pk=run_id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    reply = await Message.objects.aget(run=run)
    assert (reply.status, reply.incomplete_details) == ("incomplete", {"reason": "run_cancelled"})
    assert reply.content[0]["text"]["value"] == text_of(before + after)
    await communicator.disconnect()


async def test_it_streams_the_step_of_a_cancelled_reply_as_cancelled_like_rest_shows_it(thread, alice, slow):
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    run_id = await send(communicator, slow, "take your time")
    await collect(receive, nth_delta(1))
    await communicator.send_json_to({"type": "cancel", "run_id": run_id})
    frames = await collect(receive, is_done(run_id))
    await communicator.disconnect()

    names = event_names(frames)
    assert names[-4:] == ["thread.run.cancelling", "thread.message.incomplete", "thread.run.step.cancelled",
                          "thread.run.cancelled"]


async def test_it_replays_exactly_what_a_new_socket_missed_from_the_seq_it_gives(thread, alice, echo, settings):
    settings.DEMO_TOKEN_DELAY = 0.03  # about 1.5 s of reply: time to come back in the middle of it
    first, _ = await connected(thread.id, alice.api_key)
    run_id = await send(first, echo, "one two")
    seen = await collect(communicator_receive(first), nth_delta(2))
    await first.disconnect()  # gone in mid-reply; the run goes on

    second, ready = await connected(thread.id, alice.api_key)
    assert (ready["active_run"]["id"], ready["active_run"]["status"]) == (run_id, "in_progress")
    last = seqs(seen)[-1]
    await second.send_json_to({"type": "subscribe", "run_id": run_id, "after_seq": last})
    rest = await collect(communicator_receive(second), is_done(run_id), timeout=30)

    assert seqs(rest)[0] == last + 1
    assert seqs(seen) + seqs(rest) == list(range(1, seqs(rest)[-1] + 1))
    reply_order(seen + rest)
    reply = await Message.objects.aget(run_id=run_id)
    assert text_of(seen + rest) == reply.content[0]["text"]["value"]
    assert rest[-1] == {"type": "done", "run_id": run_id, "seq": seqs(rest)[-1]}
    await second.disconnect()


async def test_it_replays_a_finished_run_from_a_seq_and_the_outcome_from_its_end(thread, alice, echo):
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    run_id = await send(communicator, echo, "hi")
    whole = events(await collect(receive, is_done(run_id)))

    await communicator.send_json_to({"type": "subscribe", "run_id": run_id, "after_seq": 5})
    replay = await collect(receive, is_done(run_id))
    assert events(replay) == whole[5:]

    last = whole[-1]["seq"]
    await communicator.send_json_to({"type": "subscribe", "run_id": run_id, "after_seq": last})
    outcome = await collect(receive, is_done(run_id))
    assert [(f["seq"], f["event"]) for f in events(outcome)] == [(last, "thread.run.completed")]
    assert outcome[-1] == {"type": "done", "run_id": run_id, "seq": last}
    await communicator.disconnect()


async def test_it_streams_a_run_started_elsewhere_on_the_thread(thread, alice, echo):
    communicator, _ = await connected(thread.id, alice.api_key)

    run = await database_sync_to_async(run_create)(thread=thread, assistant=echo)
    receive = communicator_receive(communicator)
    frames = await collect(receive, is_done(run.id))
    if not any(f["type"] == "thread.run" and f["status"] == "completed" for f in frames):
        frames += await collect(receive, is_type("thread.run"))  # notices and events travel apart

    notices = [f for f in frames if f["type"] == "thread.run"]
    last_seq = seqs(frames)[-1]
    assert notices == [{"type": "thread.run", "run_id": run.id, "status": "queued", "seq": 1},
                       {"type": "thread.run", "run_id": run.id, "status": "in_progress", "seq": 3},
                       {"type": "thread.run", "run_id": run.id, "status": "completed", "seq": last_seq}]
    assert event_names(frames)[0] == "thread.run.created"
    assert event_names(frames)[-1] == "thread.run.completed"
    await communicator.disconnect()


async def test_it_pauses_for_client_tool_outputs_and_continues_after_the_submit_frame(thread, alice):
    tools = await database_sync_to_async(assistant_create)(user=alice.user, model="demo/tools", tools=[LOOKUP])
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    run_id = await send(communicator, tools, "Where is order 7?")
    paused = await collect(receive, is_done(run_id))

    assert event_names(paused)[-1] == "thread.run.requires_action"
    [call] = events(paused)[-1]["data"]["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "lookup_order"

    accepted = await request(communicator, {"type": "submit_tool_outputs", "run_id": run_id,
                                            "tool_outputs": [{"tool_call_id": call["id"], "output": "shipped"}]})
    resumed = await collect(receive, is_done(run_id))

    assert accepted == {"type": "accepted", "request_type": "submit_tool_outputs", "run_id": run_id}
    names = event_names(resumed)
    assert names[:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert names[-1] == "thread.run.completed"
    assert seqs(resumed)[0] == seqs(paused)[-1] + 1
    assert text_of(resumed) == "(demo) The tool returned: shipped"
    await communicator.disconnect()


async def test_it_regenerates_the_last_reply(thread, alice, echo):
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    first_run = await send(communicator, echo, "again")
    await collect(receive, is_done(first_run))

    accepted = await request(communicator, {"type": "regenerate", "assistant_id": echo.id})
    frames = await collect(receive, is_done(accepted["run_id"]))

    assert accepted == {"type": "accepted", "request_type": "regenerate", "run_id": accepted["run_id"]}
    assert accepted["run_id"] != first_run
    reply_order(frames)
    replies = [m async for m in Message.objects.filter(thread=thread, role="assistant")]
    assert [m.run_id for m in replies] == [accepted["run_id"]]
    await communicator.disconnect()


async def test_it_edits_a_sent_message_into_a_new_version_and_answers_it(thread, alice, echo):
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    first_run = await send(communicator, echo, "colour?")
    await collect(receive, is_done(first_run))
    original = await Message.objects.aget(thread=thread, role="user")

    accepted = await request(communicator, {"type": "edit", "assistant_id": echo.id, "message_id": original.id,
                                            "content": "fruit?"})
    await collect(receive, is_done(accepted["run_id"]))

    assert accepted["request_type"] == "edit" and accepted["message_id"] != original.id
    active = [(m.role, m.text()) async for m in Message.objects.filter(thread=thread)]
    assert active[0] == ("user", "fruit?") and len(active) == 2  # the old turn is a branch now
    assert await Message.all_objects.filter(thread=thread).acount() == 4
    await communicator.send_json_to({"type": "edit", "assistant_id": echo.id, "message_id": "msg_nope", "content": "x"})
    refused = (await collect(receive, lambda f: f["type"] in ("accepted", "error")))[-1]
    assert refused["type"] == "error" and refused["error"]["param"] == "message_id"
    await communicator.disconnect()


async def test_it_streams_the_continuation_of_a_run_whose_outputs_came_from_elsewhere(thread, alice):
    from conversations.services.runs import run_submit_tool_outputs

    tools = await database_sync_to_async(assistant_create)(user=alice.user, model="demo/tools", tools=[LOOKUP])
    communicator, _ = await connected(thread.id, alice.api_key)
    receive = communicator_receive(communicator)
    run_id = await send(communicator, tools, "Where is order 7?")
    paused = await collect(receive, is_done(run_id))
    [call] = events(paused)[-1]["data"]["required_action"]["submit_tool_outputs"]["tool_calls"]

    # Another tab (or an SDK client over REST) submits the outputs.
    run = await Run.objects.aget(pk=run_id)
    await database_sync_to_async(run_submit_tool_outputs)(
        run=run, tool_outputs=[{"tool_call_id": call["id"], "output": "shipped"}])
    resumed = await collect(receive, is_done(run_id))

    assert event_names(resumed)[0] == "thread.run.step.completed"
    assert event_names(resumed)[-1] == "thread.run.completed"
    assert seqs(resumed) == list(range(seqs(paused)[-1] + 1, seqs(resumed)[-1] + 1))
    assert text_of(resumed) == "(demo) The tool returned: shipped"
    await communicator.disconnect()
