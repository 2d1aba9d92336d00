"""Admin for files: owner, purpose, size, expiry; a download link; deletes remove the bytes.

Files are created through the API (or by the code interpreter), so there is no add
form; the fields a client cannot change are read-only here too.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from files.download import file_download_response
from files.models import File
from files.services import file_delete


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "owner", "purpose", "size", "created_at", "expires_at", "download")
    list_filter = ("purpose", "created_at", "expires_at")
    search_fields = ("id", "filename", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("id", "owner", "filename", "bytes", "size", "purpose", "content_type", "created_at",
                       "status", "status_details", "storage_name", "download")
    fields = ("id", "owner", "filename", "size", "purpose", "content_type", "created_at", "expires_at",
              "status", "storage_name", "download")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Size", ordering="bytes")
    def size(self, file: File) -> str:
        return filesizeformat(file.bytes)

    @admin.display(description="Download")
    def download(self, file: File) -> str:
        if not file.pk:
            return "-"
        url = reverse("admin:files_file_download", args=[quote(file.pk)])
        return format_html('<a href="{}">download</a>', url)

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<path:object_id>/download/", download, name="files_file_download"), *super().get_urls()]

    def download_view(self, request, object_id: str):
        file = File.objects.filter(pk=object_id).first()
        if file is None or not self.has_view_permission(request, file):
            raise Http404("No such file.")
        return file_download_response(file)

    def delete_model(self, request, obj: File) -> None:
        file_delete(file=obj)

    def delete_queryset(self, request, queryset) -> None:
        for file in queryset:
            file_delete(file=file)
