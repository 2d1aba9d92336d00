"""The File row: the public object's fields plus where its bytes live in the storage."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.ids import new_file_id

# What a client may upload (CreateFileRequest) and what Entities itself writes.
UPLOAD_PURPOSES = ("assistants", "vision", "user_data", "batch", "fine-tune", "evals")
OUTPUT_PURPOSE = "assistants_output"
PURPOSES = (*UPLOAD_PURPOSES, OUTPUT_PURPOSE)


class File(models.Model):
    """A stored file. ``storage_name`` is its name in the files storage (never shown to clients)."""

    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="files")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    filename = models.CharField(max_length=512)
    bytes = models.BigIntegerField()
    purpose = models.CharField(max_length=32, choices=[(p, p) for p in PURPOSES])
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, default="processed")
    status_details = models.TextField(null=True, blank=True)
    storage_name = models.CharField(max_length=255, unique=True, editable=False)
    # What made a generated file (a run id for the code interpreter's outputs) and its path
    # there (``chart.png`` under /mnt/data): opaque to this app, read by the run engine.
    origin = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    origin_path = models.CharField(max_length=512, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at", "id"], name="file_owner_created")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"
