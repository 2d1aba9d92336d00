"""Routes under /v1/threads (included by entities_project.api.urls).

`threads/runs` comes before `threads/<thread_id>`, which would otherwise take "runs" for an id.
"""

from django.urls import path

from conversations.api.messages import MessageDetailView, MessageListView
from conversations.api.runs import (
    RunCancelView,
    RunDetailView,
    RunListView,
    RunStepDetailView,
    RunStepListView,
    RunSubmitToolOutputsView,
    ThreadAndRunView,
)
from conversations.api.threads import ThreadDetailView, ThreadListView
from conversations.sse_views import RunEventsView

RUN = "threads/<str:thread_id>/runs/<str:run_id>"

urlpatterns = [
    path("threads", ThreadListView.as_view(), name="thread-list"),
    path("threads/runs", ThreadAndRunView.as_view(), name="thread-and-run"),
    path("threads/<str:thread_id>", ThreadDetailView.as_view(), name="thread-detail"),
    path("threads/<str:thread_id>/messages", MessageListView.as_view(), name="message-list"),
    path("threads/<str:thread_id>/messages/<str:message_id>", MessageDetailView.as_view(), name="message-detail"),
    path("threads/<str:thread_id>/runs", RunListView.as_view(), name="run-list"),
    path(RUN, RunDetailView.as_view(), name="run-detail"),
    path(f"{RUN}/cancel", RunCancelView.as_view(), name="run-cancel"),
    path(f"{RUN}/submit_tool_outputs", RunSubmitToolOutputsView.as_view(), name="run-submit-tool-outputs"),
    path(f"{RUN}/steps", RunStepListView.as_view(), name="run-step-list"),
    path(f"{RUN}/steps/<str:step_id>", RunStepDetailView.as_view(), name="run-step-detail"),
    # Entities extension: reattach to a run's event stream (SSE), after Last-Event-ID.
    path(f"{RUN}/events", RunEventsView.as_view(), name="run-events"),
]
