"""Routes under /v1/assistants (included by entities_project.api.urls)."""

from django.urls import path

from assistants.api import AssistantDetailView, AssistantListView

urlpatterns = [
    path("assistants", AssistantListView.as_view(), name="assistant-list"),
    path("assistants/<str:assistant_id>", AssistantDetailView.as_view(), name="assistant-detail"),
]
