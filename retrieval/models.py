"""Vector stores, their files (one row per store × file), file batches and chunks.

``file_counts`` and ``usage_bytes`` are never stored as counters: they are aggregated
from the file rows when read (retrieval.selectors), so they cannot drift. A chunk's vector
is a float32 blob; the keyword index (FTS5 on SQLite, a tsvector + GIN index on
PostgreSQL) is kept by the database itself (triggers / a generated column: migration 0002).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.ids import new_file_batch_id, new_vector_store_id


class VectorStore(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_vector_store_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vector_stores")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    name = models.CharField(max_length=256, default="", blank=True)
    description = models.CharField(max_length=512, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    expires_after = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(default=timezone.now)
    #: The embedder whose vectors this store holds (retrieval.embedding); set by the first file.
    embedding_model = models.CharField(max_length=200, default="", blank=True)
    embedding_dimension = models.PositiveIntegerField(default=0)
    #: Bumped on every chunk change, so a process's cached vector matrix knows it is stale.
    index_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at", "id"], name="vs_owner_created")]

    def __str__(self) -> str:
        return f"{self.name or self.id}"


class FileBatch(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_file_batch_id, editable=False)
    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="batches")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "file batches"


class VectorStoreFile(models.Model):
    """A file attached to a store; its public id is the file's id (`file-…`)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="files")
    file_id = models.CharField(max_length=64, db_index=True)
    filename = models.CharField(max_length=512, default="", blank=True)
    batch = models.ForeignKey(FileBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="files")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    last_error = models.JSONField(null=True, blank=True)
    attributes = models.JSONField(null=True, blank=True)
    chunking_strategy = models.JSONField(default=dict, blank=True)
    usage_bytes = models.PositiveBigIntegerField(default=0)
    # The ingestion lease, as runs hold theirs (retrieval.worker).
    lease_owner = models.CharField(max_length=128, default="", blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["vector_store", "file_id"], name="vsfile_store_file")]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="vsfile_status_lease")]

    def __str__(self) -> str:
        return f"{self.file_id} in {self.vector_store_id} ({self.status})"


class Chunk(models.Model):
    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="chunks")
    store_file = models.ForeignKey(VectorStoreFile, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    text = models.TextField()
    tokens = models.PositiveIntegerField(default=0)
    #: float32, little-endian, unit length (numpy ``tobytes``).
    vector = models.BinaryField()

    class Meta:
        # No default ordering: searches fetch chunks by id, and an ORDER BY on a join would cost them.
        indexes = [models.Index(fields=["vector_store", "store_file"], name="chunk_store_file")]
