"""Routes under /v1/files (included by entities_project.api.urls)."""

from django.urls import path

from files.api import FileContentView, FileDetailView, FileListView

urlpatterns = [
    path("files", FileListView.as_view(), name="file-list"),
    path("files/<str:file_id>", FileDetailView.as_view(), name="file-detail"),
    path("files/<str:file_id>/content", FileContentView.as_view(), name="file-content"),
]
