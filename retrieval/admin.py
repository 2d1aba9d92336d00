"""Admin for vector stores and their files: status, errors, counts, and re-indexing.

Stores and files are created through the API; here they are inspected, re-indexed
(the same queue the API uses) and deleted.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat

from retrieval.models import FileBatch, VectorStore, VectorStoreFile
from retrieval.presenters import store_status
from retrieval.selectors import store_counts
from retrieval.services.files import files_reindex


class StoreFileInline(admin.TabularInline):
    model = VectorStoreFile
    extra = 0
    can_delete = False
    fields = ("file_id", "filename", "status", "error", "usage_bytes", "attempts", "created_at")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description="last error")
    def error(self, row):
        return f"{row.last_error['code']}: {row.last_error['message']}" if row.last_error else "-"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(VectorStore)
class VectorStoreAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "state", "files", "usage", "embedding_model", "created_at", "expires_at")
    search_fields = ("id", "name", "owner__username")
    list_filter = ("embedding_model", "created_at")
    list_select_related = ("owner",)
    readonly_fields = ("id", "owner", "created_at", "last_active_at", "embedding_model", "embedding_dimension",
                       "index_version", "state", "files", "usage")
    fields = ("id", "owner", "name", "description", "metadata", "expires_after", "expires_at", "last_active_at",
              "embedding_model", "embedding_dimension", "index_version", "state", "files", "usage")
    inlines = [StoreFileInline]
    actions = ["reindex_stores"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="status")
    def state(self, store):
        return store_status(store, store_counts(store)[0])

    @admin.display(description="files (done / failed / in progress / total)")
    def files(self, store):
        c = store_counts(store)[0]
        return f"{c['completed']} / {c['failed']} / {c['in_progress']} / {c['total']}"

    @admin.display(description="usage")
    def usage(self, store):
        return filesizeformat(store_counts(store)[1])

    @admin.action(description="Re-index every file of the selected stores")
    def reindex_stores(self, request, queryset):
        count = files_reindex(rows=list(VectorStoreFile.objects.filter(vector_store__in=queryset)))
        self.message_user(request, f"{count} files queued for re-indexing.", messages.SUCCESS)


@admin.register(VectorStoreFile)
class VectorStoreFileAdmin(admin.ModelAdmin):
    list_display = ("file_id", "filename", "vector_store", "status", "error_code", "usage_bytes", "attempts",
                    "created_at", "completed_at")
    list_filter = ("status", "created_at")
    search_fields = ("file_id", "filename", "vector_store__id", "vector_store__name")
    readonly_fields = ("vector_store", "file_id", "filename", "batch", "created_at", "status", "last_error",
                       "chunking_strategy", "usage_bytes", "lease_owner", "lease_expires_at", "attempts",
                       "completed_at")
    fields = readonly_fields + ("attributes",)
    actions = ["reindex"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def error_code(self, row):
        return row.last_error["code"] if row.last_error else "-"

    @admin.action(description="Re-index the selected files")
    def reindex(self, request, queryset):
        count = files_reindex(rows=list(queryset))
        self.message_user(request, f"{count} files queued for re-indexing.", messages.SUCCESS)


@admin.register(FileBatch)
class FileBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "vector_store", "created_at", "cancelled_at")
    readonly_fields = ("id", "vector_store", "created_at", "cancelled_at")

    def has_add_permission(self, request):
        return False
