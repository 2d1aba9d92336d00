"""The WebSocket surface: `/ws/threads/<thread_id>/`. Thin: it parses frames, calls the
same services as REST, and relays the engine's events (docs/websocket.md).

Watching never drives a run: disconnecting only stops this socket's relays.
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from assistants.selectors import assistant_get_for_user
from conversations.engine.events import dumps
from conversations.engine.remote import thread_group
from conversations.engine.watch import watch_run
from conversations.presenters import run_object
from conversations.selectors import run_get_for_user, thread_active_run, thread_get_for_user
from conversations.services.chat import chat_edit, chat_regenerate, chat_turn_start
from conversations.services.runs import run_cancel, run_submit_tool_outputs
from conversations.ws_auth import CredentialCheck
from kernel.errors import EntitiesError, InvalidRequest, NotFound
from kernel.validation.fields import MAX_JSON_DEPTH, json_checked

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
MAX_FRAME_BYTES = 512 * 1024
FRAME_TYPES = ("send", "cancel", "subscribe", "submit_tool_outputs", "regenerate", "edit", "ping")


class _BadFrame:
    """What decode_json returns for text that is not acceptable JSON: the error to answer."""

    def __init__(self, error: EntitiesError) -> None:
        self.error = error


class ThreadConsumer(AsyncJsonWebsocketConsumer):
    thread = None
    # Set once the socket is closing or closed: relays and channel-layer notices that are
    # still in flight then drop their frames instead of sending after the close (which the
    # ASGI server refuses with "Unexpected ASGI message 'websocket.send'").
    gone = False

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        if self.gone:
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except OSError:  # uvicorn's ClientDisconnected: the client went away mid-send
            self.gone = True
        except RuntimeError as exc:
            # The server saw the client leave before our consumer read websocket.disconnect.
            if not str(exc).startswith("Unexpected ASGI message"):
                raise
            self.gone = True

    async def send_json(self, content, close=False) -> None:
        # The base class's send_json calls the plain consumer's send, skipping the guard above.
        await self.send(text_data=await self.encode_json(content), close=close)

    async def close(self, code=None, reason=None) -> None:
        if not self.gone:
            self.gone = True
            await super().close(code=code, reason=reason)

    async def websocket_disconnect(self, message) -> None:
        self.gone = True
        await super().websocket_disconnect(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return
        try:
            self.thread = await database_sync_to_async(thread_get_for_user)(
                user=user, thread_id=self.scope["url_route"]["kwargs"]["thread_id"])
        except EntitiesError:
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.relays: dict[str, asyncio.Task] = {}
        self.last_seq: dict[str, int] = {}
        # Held while a client frame is handled and around each relayed frame, so the answer
        # to a frame (`accepted`, `error`) always precedes the events it causes: the engine
        # may act on a cancel before the handler's database call has returned.
        self.answering = asyncio.Lock()
        # Credentials are looked at again while the socket is open (conversations/ws_auth.py).
        self.credentials = CredentialCheck(self.scope)
        await self.accept()
        self.credential_watch = asyncio.create_task(self.credentials.watch(self._signed_out))
        await self.channel_layer.group_add(thread_group(self.thread.id), self.channel_name)
        active = await database_sync_to_async(thread_active_run)(thread=self.thread)
        await self.send_json({"type": "ready", "thread_id": self.thread.id,
                              "active_run": run_object(active) if active else None})

    async def _refuse(self, code: int) -> None:
        # A close before accept reaches the client as an HTTP 403 (browsers report 1006);
        # accepting first is the only way the client learns why (sign in again / gone).
        await self.accept()
        await self.close(code=code)

    async def _signed_out(self) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def disconnect(self, code) -> None:
        if self.thread is None:
            return
        self.credential_watch.cancel()
        for task in getattr(self, "relays", {}).values():
            task.cancel()
        await self.channel_layer.group_discard(thread_group(self.thread.id), self.channel_name)

    # -- client frames --------------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if self.thread is None:
            return  # refused: closing, frames are not read
        if bytes_data is not None or text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self._error(InvalidRequest("Send JSON text frames of at most 512 KiB."))
            return
        # Nothing is acted on with credentials older than the re-check interval.
        if not await self.credentials.ok():
            await self._signed_out()
            return
        await super().receive(text_data=text_data, **kwargs)

    @classmethod
    async def decode_json(cls, text_data):
        # The same checks as REST bodies: depth (no RecursionError) and Unicode-only strings.
        try:
            return json_checked(json.loads(text_data))
        except RecursionError:
            return _BadFrame(InvalidRequest(f"The frame is nested more than {MAX_JSON_DEPTH} levels deep.",
                                            code="invalid_json"))
        except ValueError:
            return _BadFrame(InvalidRequest(f"The frame is not valid JSON. Known: {', '.join(FRAME_TYPES)}.",
                                            param="type"))
        except EntitiesError as exc:
            return _BadFrame(exc)

    def _handler(self, content):
        """(type, handler) of a frame; InvalidRequest for anything that is not a known type."""
        if isinstance(content, _BadFrame):
            raise content.error
        if not isinstance(content, dict):
            raise InvalidRequest("A frame must be a JSON object with a 'type'.")
        kind = content.get("type")
        if kind not in FRAME_TYPES:  # also any non-string: a list or object is never a type
            shown = repr(kind) if isinstance(kind, str) else f"of JSON type {type(kind).__name__}"
            raise InvalidRequest(f"Unknown frame type {shown[:80]}. Known: {', '.join(FRAME_TYPES)}.", param="type")
        return kind, getattr(self, "_on_" + {"submit_tool_outputs": "submit"}.get(kind, kind))

    async def receive_json(self, content, **kwargs) -> None:
        try:
            kind, handler = self._handler(content)
        except EntitiesError as exc:
            await self._error(exc)
            return
        async with self.answering:
            try:
                await handler(content)
            except EntitiesError as exc:
                await self._error(exc, request_type=kind)
            except Exception:  # noqa: BLE001 - a bad frame never kills the socket
                if not await self._thread_exists():
                    await self._error(NotFound("This thread was deleted."), request_type=kind)
                    return
                log.exception("websocket frame failed")
                await self.send_json({"type": "error", "request_type": kind, "error": {
                    "message": "The server could not handle this frame.", "type": "server_error", "param": None,
                    "code": "server_error"}})

    async def _thread_exists(self) -> bool:
        from conversations.models import Thread

        try:
            return await database_sync_to_async(Thread.objects.filter(pk=self.thread.id).exists)()
        except Exception:  # noqa: BLE001 - the database is away: report the frame's own failure
            return True

    async def _error(self, exc: EntitiesError, request_type: str | None = None) -> None:
        await self.send_json({"type": "error", "request_type": request_type, "error": exc.as_error()})

    async def _on_ping(self, content) -> None:
        await self.send_json({"type": "pong"})

    async def _assistant(self, content):
        assistant_id = content.get("assistant_id")
        if not isinstance(assistant_id, str) or not assistant_id:
            raise InvalidRequest("'assistant_id' is required.", param="assistant_id")
        return await database_sync_to_async(assistant_get_for_user)(
            user=self.scope["user"], assistant_id=assistant_id, param="assistant_id")

    def _model(self, content) -> str | None:
        model = content.get("model")
        if model is not None and (not isinstance(model, str) or len(model) > 256):
            raise InvalidRequest("'model' must be a string of at most 256 characters.", param="model")
        return model or None

    async def _on_send(self, content) -> None:
        assistant = await self._assistant(content)
        message, run = await database_sync_to_async(chat_turn_start)(
            thread=self.thread, assistant=assistant, text=content.get("content"), model=self._model(content),
            file_ids=content.get("file_ids"))
        await self.send_json({"type": "accepted", "request_type": "send", "message_id": message.id, "run_id": run.id})
        self._relay(run.id, 0)

    async def _on_edit(self, content) -> None:
        assistant = await self._assistant(content)
        message, run = await database_sync_to_async(chat_edit)(
            thread=self.thread, assistant=assistant, message_id=content.get("message_id"),
            text=content.get("content"), model=self._model(content))
        await self.send_json({"type": "accepted", "request_type": "edit", "message_id": message.id, "run_id": run.id})
        self._relay(run.id, 0)

    async def _on_regenerate(self, content) -> None:
        assistant = await self._assistant(content)
        run = await database_sync_to_async(chat_regenerate)(thread=self.thread, assistant=assistant,
                                                            model=self._model(content))
        await self.send_json({"type": "accepted", "request_type": "regenerate", "run_id": run.id})
        self._relay(run.id, 0)

    async def _run(self, content):
        run_id = content.get("run_id")
        if run_id is None:
            active = await database_sync_to_async(thread_active_run)(thread=self.thread)
            if active is None:
                raise InvalidRequest("No active run on this thread.", param="run_id")
            return active
        if not isinstance(run_id, str):
            raise InvalidRequest("'run_id' must be a string.", param="run_id")
        return await database_sync_to_async(run_get_for_user)(user=self.scope["user"], thread=self.thread, run_id=run_id)

    async def _on_cancel(self, content) -> None:
        run = await self._run(content)
        run = await database_sync_to_async(run_cancel)(run=run)
        await self.send_json({"type": "accepted", "request_type": "cancel", "run_id": run.id, "status": run.status})

    async def _on_submit(self, content) -> None:
        from conversations.validation import validate_submit_tool_outputs

        run = await self._run(content)
        tool_outputs, _ = validate_submit_tool_outputs({"tool_outputs": content.get("tool_outputs")})
        run = await database_sync_to_async(run_submit_tool_outputs)(run=run, tool_outputs=tool_outputs)
        await self.send_json({"type": "accepted", "request_type": "submit_tool_outputs", "run_id": run.id})
        self._relay(run.id, run.event_seq)

    async def _on_subscribe(self, content) -> None:
        run = await self._run(content)
        after = content.get("after_seq", 0)
        if not isinstance(after, int) or after < 0:
            raise InvalidRequest("'after_seq' must be a non-negative integer.", param="after_seq")
        self._relay(run.id, after, restart=True)

    # -- relaying a run's events ---------------------------------------------------------
    def _relay(self, run_id: str, after_seq: int, restart: bool = False) -> None:
        running = self.relays.get(run_id)
        if running is not None and not running.done():
            if not restart:
                return
            running.cancel()
        self.last_seq[run_id] = max(after_seq, 0) if restart else max(self.last_seq.get(run_id, 0), after_seq)
        self.relays[run_id] = asyncio.create_task(self._relay_events(run_id, self.last_seq[run_id]))

    async def _relay_events(self, run_id: str, after_seq: int) -> None:
        try:
            # watch_run sends each event once from after_seq (the one helper for every surface).
            async for event in watch_run(run_id, after_seq=after_seq, coalesce=True):
                # orjson, as the SSE frames (engine/events.py): the one encode per token.
                frame = dumps({"type": "event", "run_id": run_id, "seq": event.seq, "event": event.name,
                               "data": event.data}).decode()
                async with self.answering:
                    await self.send(text_data=frame)
                self.last_seq[run_id] = max(event.seq, self.last_seq.get(run_id, 0))
            async with self.answering:
                await self.send_json({"type": "done", "run_id": run_id, "seq": self.last_seq.get(run_id, 0)})
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("websocket relay of %s failed", run_id)

    # -- channel-layer messages ------------------------------------------------------------
    async def thread_run(self, message) -> None:
        """A run started or ended on this thread (possibly from another tab or process)."""
        run_id, seq = message.get("run_id", ""), message.get("seq", 0)
        await self.send_json({"type": "thread.run", "run_id": run_id, "status": message.get("status"), "seq": seq})
        # Relay a run this socket has not sent up to ``seq`` yet: a new one, or one continued
        # elsewhere (tool outputs from another tab). A late notice about a segment already
        # relayed is only passed on. While a relay runs, _relay() is a no-op.
        if message.get("status") in ("queued", "in_progress") and seq > self.last_seq.get(run_id, 0):
            self._relay(run_id, 0)
