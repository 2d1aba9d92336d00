"""Runs and run steps: create (also with a new thread), list, retrieve, modify, cancel,
submit tool outputs; `stream: true` answers with server-sent events instead of the run."""

from __future__ import annotations

from rest_framework.response import Response

from assistants.selectors import assistant_get_for_user
from conversations.presenters import run_object
from kernel.envelopes import list_object
from conversations.selectors import (
    run_get_for_user,
    run_list,
    run_step_get,
    run_step_list,
    thread_get_for_user,
)
from conversations.services.runs import (
    run_cancel,
    run_create,
    run_submit_tool_outputs,
    run_update,
    thread_and_run_create,
)
from kernel.api.views import POLL_AFTER_MS, V1APIView
from kernel.pagination import page_params_from_query
from conversations.validation import (
    validate_include,
    validate_metadata_only,
    validate_run_create,
    validate_submit_tool_outputs,
    validate_thread_and_run,
)


def _run_response(run, *, stream: bool, thread=None):
    """The run as JSON, or its event stream (the run executes apart from this response)."""
    if not stream:
        return Response(run_object(run))
    from conversations.streaming import run_stream_response

    return run_stream_response(run=run, thread=thread, resume=False)


def _include(request) -> list[str]:
    return validate_include(request.query_params.getlist("include[]"))


class RunListView(V1APIView):
    def get(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        runs, has_more = run_list(thread=thread, page=page_params_from_query(request.query_params))
        return Response(list_object([run_object(r) for r in runs], has_more))

    def post(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        include = _include(request)
        assistant_id, options, stream = validate_run_create(request.data)
        if include:
            options = {**options, "include": include}
        assistant = assistant_get_for_user(user=request.user, assistant_id=assistant_id, param="assistant_id")
        return _run_response(run_create(thread=thread, assistant=assistant, options=options), stream=stream)


class ThreadAndRunView(V1APIView):
    def post(self, request):
        assistant_id, thread_data, options, stream = validate_thread_and_run(request.data)
        assistant = assistant_get_for_user(user=request.user, assistant_id=assistant_id, param="assistant_id")
        thread, run = thread_and_run_create(user=request.user, assistant=assistant, thread_data=thread_data,
                                            options=options)
        return _run_response(run, stream=stream, thread=thread)


class _RunView(V1APIView):
    def _run(self, request, thread_id: str, run_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        return run_get_for_user(user=request.user, thread=thread, run_id=run_id)


class RunDetailView(_RunView):
    def get(self, request, thread_id: str, run_id: str):
        run = self._run(request, thread_id, run_id)
        # The SDK's poll helpers honour this header, so create_and_poll does not wait a second per GET.
        return Response(run_object(run), headers={"openai-poll-after-ms": POLL_AFTER_MS})

    def post(self, request, thread_id: str, run_id: str):
        run = self._run(request, thread_id, run_id)
        fields = validate_metadata_only(request.data)
        if fields:
            run = run_update(run=run, **fields)
        return Response(run_object(run))


class RunCancelView(_RunView):
    def post(self, request, thread_id: str, run_id: str):
        return Response(run_object(run_cancel(run=self._run(request, thread_id, run_id))))


class RunSubmitToolOutputsView(_RunView):
    def post(self, request, thread_id: str, run_id: str):
        run = self._run(request, thread_id, run_id)
        tool_outputs, stream = validate_submit_tool_outputs(request.data)
        return _run_response(run_submit_tool_outputs(run=run, tool_outputs=tool_outputs), stream=stream)


class RunStepListView(_RunView):
    def get(self, request, thread_id: str, run_id: str):
        run = self._run(request, thread_id, run_id)
        content = bool(_include(request))  # the one value there is: file_search results' content
        steps, has_more = run_step_list(run=run, page=page_params_from_query(request.query_params),
                                        include_content=content)
        return Response(list_object(steps, has_more))


class RunStepDetailView(_RunView):
    def get(self, request, thread_id: str, run_id: str, step_id: str):
        run = self._run(request, thread_id, run_id)
        content = bool(_include(request))
        return Response(run_step_get(run=run, step_id=step_id, include_content=content))
