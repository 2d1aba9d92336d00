"""Every /v1 route (mounted by entities_project.urls as `path("v1/", include(...))`).

No trailing slashes: the openai SDK sends none.
"""

from django.urls import include, path

from entities_project.api.openapi import OpenApiView
from inference.api import ModelDetailView, ModelListView

urlpatterns = [
    path("models", ModelListView.as_view(), name="model-list"),
    path("models/<path:model>", ModelDetailView.as_view(), name="model-detail"),
    path("openapi.json", OpenApiView.as_view(), name="openapi"),
    path("", include("assistants.urls")),
    path("", include("files.urls")),
    path("", include("conversations.api.urls")),
    path("", include("retrieval.urls")),
    path("", include("responses_api.urls")),
]
