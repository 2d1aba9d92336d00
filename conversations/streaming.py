"""Server-sent events for runs, in the exact Assistants stream format.

The response is an async generator end to end (never a sync iterator that Django would
buffer), uncompressed, with proxy buffering off. The run belongs to the engine: a
client that disconnects only stops its own stream.
"""

from __future__ import annotations

import logging

from django.http import StreamingHttpResponse

from conversations.engine.events import DONE_FRAME, encode, sse_frame
from conversations.engine.watch import watch_run
from conversations.models import Run, Thread
from conversations.presenters import thread_object

log = logging.getLogger(__name__)


async def run_event_frames(run_id: str, *, thread: Thread | None = None, after_seq: int = 0):
    """The SSE frames of a run from ``after_seq`` to the end of its segment, then done.

    Frames are bytes: for a str chunk Django looks the response's charset up again (parsing
    its Content-Type) for every frame."""
    try:
        if thread is not None:
            yield sse_frame(0, "thread.created", thread_object(thread))
        async for event in watch_run(run_id, after_seq=after_seq, coalesce=True):
            if event.assistants:  # reasoning text has no Assistants event
                yield event.sse()
    except Exception as exc:  # noqa: BLE001 - the stream must end cleanly, with the reason
        log.exception("SSE stream of %s broke", run_id)
        error = {"error": {"message": f"The event stream broke: {type(exc).__name__}", "type": "server_error",
                           "param": None, "code": "server_error"}}
        yield f"event: error\ndata: {encode(error)}\n\n".encode()
    yield DONE_FRAME


def sse_response(frames, *, content_type: str = "text/event-stream; charset=utf-8") -> StreamingHttpResponse:
    """The streaming response for ``frames``: an async generator, so the stream holds no
    request thread and no database connection while the reply lasts (request_threads.py)."""
    response = StreamingHttpResponse(frames, content_type=content_type)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def run_stream_response(*, run: Run, thread: Thread | None = None, resume: bool = False,
                        after_seq: int = 0) -> StreamingHttpResponse:
    """`stream: true` on createRun / createThreadAndRun / submitToolOutputs, and the resume GET."""
    start = after_seq if resume else run.event_seq
    return sse_response(run_event_frames(run.id, thread=thread, after_seq=start))
