"""The seed's route: `POST /api/messages/process`, kept exactly as the Flask system spoke.

Body in camelCase or snake_case; streams `data: {"run_id": …}`, then `data: {"chunk": …}`
per text piece, then `data: [DONE]` (or `data: [ERROR]`). Unlike the seed (its TODO), the
inference type the caller sends is honoured: the run's model is routed to it. The run is
a real engine run, the same one REST, SSE and the WebSocket see.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from django.http import JsonResponse
from rest_framework.views import APIView

from assistants.models import Assistant
from assistants.selectors import assistant_get_for_user
from assistants.services import assistant_create
from conversations.engine.watch import watch_run
from conversations.selectors import thread_get_for_user
from conversations.services.chat import chat_turn_start
from conversations.services.threads import thread_create
from conversations.streaming import sse_response
from kernel.errors import EntitiesError
from inference.routing import KNOWN_TYPES

log = logging.getLogger(__name__)

DEFAULT_MODEL = "llama3.1"
DEFAULT_INFERENCE = "local"
SEED_ASSISTANT_NAME = "Seed route assistant"


class SeedRequestError(ValueError):
    pass


def parse_seed_body(data) -> dict:
    """The seed's parsing, both spellings; raises SeedRequestError for what it answered 400."""
    if not isinstance(data, dict):
        raise SeedRequestError("Invalid or missing 'messages' in request")
    messages = data.get("messages", [])
    if not messages or not isinstance(messages, list) or not isinstance(messages[0], dict):
        raise SeedRequestError("Invalid or missing 'messages' in request")
    user_message = messages[0].get("content", "")
    if not user_message or not isinstance(user_message, str):
        raise SeedRequestError("Message content is missing")
    inference_type = data.get("inferenceType") or data.get("inference_type") or DEFAULT_INFERENCE
    if not isinstance(inference_type, str) or inference_type.lower() not in KNOWN_TYPES:
        raise SeedRequestError(f"Unsupported inference type: {inference_type}")
    model = data.get("model") or DEFAULT_MODEL
    if not isinstance(model, str) or len(model) > 200:
        raise SeedRequestError("Invalid 'model'")
    thread_id = data.get("threadId") or data.get("thread_id")
    assistant_id = data.get("assistantId") or data.get("assistant_id")
    for name, value in (("threadId", thread_id), ("assistantId", assistant_id)):
        if value is not None and not isinstance(value, str):
            raise SeedRequestError(f"Invalid '{name}'")
    return {"user_message": user_message, "inference_type": inference_type.lower(), "model": model,
            "thread_id": thread_id, "assistant_id": assistant_id,
            "user_id": data.get("userId") or data.get("user_id")}


def seed_turn_start(*, user, request: dict):
    """Find or create the thread and assistant, add the message, start the run."""
    inference_type, model = request["inference_type"], request["model"]
    routed_model = model if model.split("/", 1)[0] in KNOWN_TYPES else f"{inference_type}/{model}"
    if request["thread_id"]:
        thread = thread_get_for_user(user=user, thread_id=request["thread_id"])
    else:
        thread = thread_create(user=user)
    if request["assistant_id"]:
        assistant = assistant_get_for_user(user=user, assistant_id=request["assistant_id"])
    else:
        assistant = Assistant.objects.filter(owner=user, name=SEED_ASSISTANT_NAME).first() or assistant_create(
            user=user, model=routed_model, name=SEED_ASSISTANT_NAME,
            instructions="You are a helpful assistant.")
    message, run = chat_turn_start(thread=thread, assistant=assistant, text=request["user_message"], model=routed_model)
    return thread, message, run


def _data(payload) -> str:
    return f"data: {json.dumps(payload)}\n\n"  # json.dumps as the seed wrote it (", " and ": ")


async def seed_chunks(run_id: str):
    """The seed's frames for a run: its id, a chunk per text delta, then how it ended."""
    yield _data({"run_id": run_id})
    try:
        async for event in watch_run(run_id):
            text = event.text()
            if text:
                yield _data({"chunk": text})
            elif event.name == "thread.run.requires_action":
                yield _data({"required_action": event.data["required_action"]})
                yield "data: [DONE]\n\n"
                return
            elif event.name in ("thread.run.failed", "thread.run.cancelled", "thread.run.expired"):
                log.warning("seed route run %s ended %s: %s", run_id, event.name, event.data.get("last_error"))
                yield "data: [ERROR]\n\n"
                return
            elif event.ends_segment:
                yield "data: [DONE]\n\n"
                return
        yield "data: [DONE]\n\n"
    except Exception:  # noqa: BLE001 - the seed's contract: [ERROR] and the stream ends
        log.exception("seed route stream for %s failed", run_id)
        yield "data: [ERROR]\n\n"


class ProcessMessagesView(APIView):
    """POST /api/messages/process (JWT or API key)."""


    def post(self, request):
        try:
            parsed = parse_seed_body(request.data)
        except SeedRequestError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        try:
            _, _, run = seed_turn_start(user=request.user, request=parsed)
        except EntitiesError as exc:
            return JsonResponse({"error": exc.message}, status=exc.status)
        return sse_response(seed_chunks(run.id), content_type="text/event-stream")
