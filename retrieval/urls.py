"""Routes under /v1/vector_stores (included by entities_project.api.urls)."""

from django.urls import path

from retrieval import api

S = "vector_stores/<str:store_id>"
urlpatterns = [
    path("vector_stores", api.VectorStoreListView.as_view(), name="vector-store-list"),
    path(S, api.VectorStoreDetailView.as_view(), name="vector-store-detail"),
    path(f"{S}/search", api.VectorStoreSearchView.as_view(), name="vector-store-search"),
    path(f"{S}/files", api.StoreFileListView.as_view(), name="vector-store-file-list"),
    path(f"{S}/files/<str:file_id>", api.StoreFileDetailView.as_view(), name="vector-store-file-detail"),
    path(f"{S}/files/<str:file_id>/content", api.StoreFileContentView.as_view(), name="vector-store-file-content"),
    path(f"{S}/file_batches", api.FileBatchCreateView.as_view(), name="vector-store-batch-create"),
    path(f"{S}/file_batches/<str:batch_id>", api.FileBatchDetailView.as_view(), name="vector-store-batch-detail"),
    path(f"{S}/file_batches/<str:batch_id>/cancel", api.FileBatchCancelView.as_view(), name="vector-store-batch-cancel"),
    path(f"{S}/file_batches/<str:batch_id>/files", api.FileBatchFilesView.as_view(), name="vector-store-batch-files"),
]
