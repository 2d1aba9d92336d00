"""How responses leave: their event stream (SSE), or their JSON once their segment ended.

Both are async generators under a StreamingHttpResponse, so a response that takes a
minute holds no request thread and no database connection while it is produced.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.http import StreamingHttpResponse

from conversations.engine.db import db
from conversations.engine.events import encode
from conversations.engine.watch import watch_run
from conversations.streaming import sse_response
from responses_api.file_search import RESULTS, finished_searches, with_queries
from responses_api.models import Response
from responses_api.presenters import response_object
from responses_api.selectors import response_detail, server_side_functions
from responses_api.services.unstored import response_forget
from responses_api.stream import ResponseTranslator

log = logging.getLogger(__name__)
CANCEL_WAIT_SECONDS = 10.0
FORGET_GRACE_SECONDS = 60.0
_FORGETTING: set[asyncio.Task] = set()  # forgets under way (a task nobody holds may be collected)


def stream_start(response: Response) -> tuple[Response, dict, frozenset[str]]:
    """What a stream needs before its first event: the response as it starts, and which of its
    functions run here. Built in the request's thread, so the stream's first event waits on
    no database hop of its own."""
    return response, response_object(response, response.run, [], status="in_progress"), \
        server_side_functions(response.run)


def _detail(response_id: str) -> dict | None:
    response = Response.objects.select_related("run").filter(pk=response_id).first()
    return response_detail(response) if response is not None else None


def _frame(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {encode(event)}\n\n".encode()


async def _forget_when_done(response: Response) -> None:
    """Forget a non-stored response once its run ended (bounded by the run's own expiry)."""
    try:
        async with asyncio.timeout(settings.ENTITIES_RUN_EXPIRES_SECONDS + FORGET_GRACE_SECONDS):
            async for _event in watch_run(response.run_id, after_seq=response.start_seq):
                pass
        await db(response_forget, response_id=response.id)
    except Exception:  # noqa: BLE001 - a later non-stored create forgets what is left (responses_forget_ended)
        log.exception("could not forget non-stored response %s", response.id)


def _forget_later(response: Response) -> None:
    """The client left before a non-stored response ended: forget it when it does."""
    try:
        task = asyncio.get_running_loop().create_task(_forget_when_done(response))
    except RuntimeError:  # closed outside the loop: a later non-stored create forgets it
        return
    _FORGETTING.add(task)
    task.add_done_callback(_FORGETTING.discard)


async def response_event_frames(started: tuple[Response, dict, frozenset[str]], *, starting_after: int = -1):
    """The response's stream events with sequence_number > ``starting_after``."""
    response, base, server_functions = started
    ended = False
    try:
        translator = ResponseTranslator(base, server_functions=server_functions, search_results=RESULTS in (
            response.extras or {}).get("include", []))
        for event in translator.start():
            if event["sequence_number"] > starting_after:
                yield _frame(event)
        async for _seq, name, data in watch_run(response.run_id, after_seq=response.start_seq):
            if name == "thread.run.step.delta" and finished_searches(data):
                data = await db(with_queries, data)
            for event in translator.feed(name, data):
                if event["sequence_number"] > starting_after:
                    yield _frame(event)
            if translator.ended:
                ended = True
                if not response.store:
                    await db(response_forget, response_id=response.id)
                return
    except Exception as exc:  # noqa: BLE001 - the stream must end cleanly, with the reason
        log.exception("Responses stream of %s broke", response.id)
        yield _frame({"type": "error", "sequence_number": 0, "code": "server_error", "param": None,
                      "message": f"The event stream broke: {type(exc).__name__}"})
    finally:
        if not response.store and not ended:
            _forget_later(response)


async def response_json_when_done(response: Response, *, timeout: float | None = None):
    """One JSON body: the response as stored once its segment ended (or ``timeout`` passed)."""
    response_id = response.id
    try:
        async with asyncio.timeout(timeout):
            async for _event in watch_run(response.run_id, after_seq=response.start_seq):
                pass
    except TimeoutError:
        pass
    detail = await db(_detail, response_id)
    if not response.store and not await db(response_forget, response_id=response_id):
        _forget_later(response)  # cancel's wait ran out first
    if detail is None:
        detail = {"error": {"message": f"Response with id '{response_id}' not found.", "type": "invalid_request_error",
                            "param": None, "code": "not_found"}}
    yield encode(detail).encode()


def stream_response(response: Response, *, starting_after: int = -1) -> StreamingHttpResponse:
    """The response's event stream (call from the request's thread: it reads the run's tools)."""
    return sse_response(response_event_frames(stream_start(response), starting_after=starting_after))


def json_response_when_done(response: Response, *, timeout: float | None = None) -> StreamingHttpResponse:
    answer = StreamingHttpResponse(response_json_when_done(response, timeout=timeout), content_type="application/json")
    answer["Cache-Control"] = "no-cache"
    return answer
