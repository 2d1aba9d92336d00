"""Attaching files to stores (one by one or as a batch), updating and detaching them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kernel.errors import NotFound
from retrieval import queueing, sources
from retrieval.models import Chunk, FileBatch, VectorStore, VectorStoreFile
from retrieval.services.activity import bump_index, ensure_usable, store_touch

BULK_ROWS = 500


def attach_files(*, store: VectorStore, user, items: list[dict], batch: FileBatch | None = None) -> list[VectorStoreFile]:
    """Attach each {file_id, attributes, chunking_strategy} (the user's files only: 404 otherwise).

    Re-attaching a file already in the store re-ingests it with the new settings (a file given
    twice counts once, with its last settings). Ingestion is queued: a worker (retrieval.worker)
    picks the rows up once the transaction commits. New rows are written in bulk (the
    ``vector_stores`` helper may bring 10,000 files).
    """
    ensure_usable(store)
    wanted = {item["file_id"]: item for item in items}
    found = sources.files_for_user(user=user, file_ids=list(wanted))
    missing = next((file_id for file_id in wanted if file_id not in found), None)
    if missing is not None:
        raise NotFound(f"No such File object: {missing}")
    with transaction.atomic():
        existing = {row.file_id: row for row in VectorStoreFile.objects.filter(vector_store=store,
                                                                               file_id__in=list(wanted))}
        fresh = []
        for file_id, item in wanted.items():
            values = _queued(found[file_id], item, batch)
            row = existing.get(file_id)
            if row is None:
                fresh.append(VectorStoreFile(vector_store=store, file_id=file_id, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.save(update_fields=list(values))
        VectorStoreFile.objects.bulk_create(fresh, batch_size=BULK_ROWS)
        store_touch(store)
        bump_index(store.pk)  # a re-attached file leaves the searchable index until ingested again
    transaction.on_commit(queueing.work_queued)
    by_id = existing | {row.file_id: row for row in fresh}
    return [by_id[file_id] for file_id in wanted]


def _queued(source: sources.SourceFile, item: dict, batch: FileBatch | None) -> dict:
    """A store file's fields when (re)queued for ingestion."""
    return {"filename": source.filename, "status": VectorStoreFile.Status.IN_PROGRESS, "last_error": None,
            "attributes": item.get("attributes"), "chunking_strategy": item.get("chunking_strategy") or {"type": "auto"},
            "batch": batch, "usage_bytes": 0, "lease_owner": "", "lease_expires_at": None, "attempts": 0,
            "completed_at": None}


def batch_create(*, store: VectorStore, user, items: list[dict]) -> FileBatch:
    with transaction.atomic():
        batch = FileBatch.objects.create(vector_store=store)
        attach_files(store=store, user=user, items=items, batch=batch)
    return batch


def batch_cancel(*, batch: FileBatch) -> FileBatch:
    """Cancel the batch's files not yet ingested (a worker holding one drops its result)."""
    now = timezone.now()
    with transaction.atomic():
        FileBatch.objects.filter(pk=batch.pk, cancelled_at__isnull=True).update(cancelled_at=now)
        VectorStoreFile.objects.filter(batch=batch, status="in_progress").update(
            status="cancelled", lease_owner="", lease_expires_at=None, completed_at=now)
    batch.refresh_from_db()
    return batch


def file_update_attributes(*, row: VectorStoreFile, attributes: dict | None) -> VectorStoreFile:
    with transaction.atomic():
        row.attributes = attributes
        row.save(update_fields=["attributes"])
        bump_index(row.vector_store_id)  # cached indexes carry the attributes that filters read
    return row


def file_detach(*, row: VectorStoreFile) -> None:
    """Remove the file from the store (its chunks go with it); the file itself stays."""
    with transaction.atomic():
        store_id = row.vector_store_id
        row.delete()
        bump_index(store_id)


def detach_everywhere(file_id: str) -> int:
    """A deleted file leaves every store (called when the Files API deletes it)."""
    rows = list(VectorStoreFile.objects.filter(file_id=file_id).values_list("pk", "vector_store_id"))
    with transaction.atomic():
        Chunk.objects.filter(store_file_id__in=[pk for pk, _ in rows]).delete()
        VectorStoreFile.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        for store_id in {sid for _, sid in rows}:
            bump_index(store_id)
    return len(rows)


def files_reindex(*, rows) -> int:
    """Queue files again (admin "re-index"): parsed, chunked and embedded anew by a worker."""
    count = VectorStoreFile.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=VectorStoreFile.Status.IN_PROGRESS, last_error=None, lease_owner="", lease_expires_at=None,
        attempts=0, completed_at=None)
    transaction.on_commit(queueing.work_queued)
    return count
