"""The chat page's attachments over the WebSocket: a `send` frame's `file_ids` become the
message's image parts and code-interpreter attachments; a foreign id is refused."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from assistants.services import assistant_create
from conversations.models import Message
from conversations.services.threads import thread_create
from files.services import file_create
from testsupport.ws import collect, is_done, is_type, websocket_receive

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63fccf50000000040001f5d2e0ed0000000049454e44ae426082")


async def _socket(live, thread_id, token):
    websocket = await connect(f"{live.ws_url}/ws/threads/{thread_id}/?token={token}", open_timeout=5)
    await collect(websocket_receive(websocket), is_type("ready"))
    return websocket


async def test_send_with_file_ids_stores_images_and_attachments(live_entities, alice):
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    thread = await sync_to_async(thread_create)(user=alice.user)
    image = await sync_to_async(file_create)(user=alice.user, content=PNG, filename="dot.png", purpose="vision")
    table = await sync_to_async(file_create)(user=alice.user, content=b"a,b\n", filename="t.csv", purpose="assistants")
    websocket = await _socket(live_entities, thread.id, alice.api_key)

    await websocket.send(json.dumps({"type": "send", "assistant_id": echo.id, "content": "look",
                                     "file_ids": [image.id, table.id]}))
    accepted = (await collect(websocket_receive(websocket), is_type("accepted")))[-1]
    await collect(websocket_receive(websocket), is_done(accepted["run_id"]))
    await websocket.close()

    message = await sync_to_async(Message.objects.get)(pk=accepted["message_id"])
    assert message.content[1] == {"type": "image_file", "image_file": {"file_id": image.id, "detail": "auto"}}
    assert message.attachments == [{"file_id": table.id, "tools": [{"type": "code_interpreter"}]}]


async def test_a_foreign_file_id_is_an_error_frame_and_nothing_is_stored(live_entities, alice, bob):
    echo = await sync_to_async(assistant_create)(user=alice.user, model="demo/echo")
    thread = await sync_to_async(thread_create)(user=alice.user)
    bobs = await sync_to_async(file_create)(user=bob.user, content=b"x", filename="b.txt", purpose="assistants")
    websocket = await _socket(live_entities, thread.id, alice.api_key)

    await websocket.send(json.dumps({"type": "send", "assistant_id": echo.id, "content": "x", "file_ids": [bobs.id]}))
    error = (await collect(websocket_receive(websocket), is_type("error")))[-1]
    await websocket.close()

    assert error["error"]["param"] == "file_ids[0]" and error["error"]["code"] == "invalid_file_id"
    assert not await sync_to_async(Message.objects.filter(thread_id=thread.id).exists)()
