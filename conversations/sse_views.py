"""`GET /v1/threads/{thread_id}/runs/{run_id}/events`: attach to a run's stream (Entities extension).

OpenAI's API had no way to reattach to a stream. This streams the run's events after
`Last-Event-ID` (or `?after_seq=`) in the same SSE format as `stream: true`, until the
run's current segment ends, then `done`.
"""

from __future__ import annotations

from rest_framework.views import APIView

from conversations.selectors import run_get_for_user, thread_get_for_user
from conversations.streaming import run_stream_response
from kernel.errors import InvalidRequest


def _after_seq(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query_params.get("after_seq") or "0"
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidRequest("Last-Event-ID / after_seq must be a non-negative integer.", param="after_seq") from exc
    if value < 0:
        raise InvalidRequest("Last-Event-ID / after_seq must be a non-negative integer.", param="after_seq")
    return value


class RunEventsView(APIView):
    def get(self, request, thread_id: str, run_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        run = run_get_for_user(user=request.user, thread=thread, run_id=run_id)
        return run_stream_response(run=run, resume=True, after_seq=_after_seq(request))
