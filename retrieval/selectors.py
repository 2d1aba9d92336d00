"""Reads: stores, files and batches scoped to their owner (someone else's id is a 404)."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.utils import timezone

from kernel.errors import InvalidRequest, NotFound
from kernel.pagination import PageParams, paginate
from retrieval.models import Chunk, FileBatch, VectorStore, VectorStoreFile

STATUSES = ("in_progress", "completed", "failed", "cancelled")


def store_get_for_user(*, user, store_id: str) -> VectorStore:
    store = VectorStore.objects.filter(pk=store_id, owner=user).first()
    if store is None:
        raise NotFound(f"No vector store found with id '{store_id}'.", param="vector_store_id")
    return store


def store_ids_usable(*, user, store_ids: list[str]) -> set[str]:
    """Those of ``store_ids`` that are the user's stores and not expired (one query)."""
    if not store_ids:
        return set()
    alive = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return set(VectorStore.objects.filter(alive, owner=user, pk__in=store_ids).values_list("pk", flat=True))


def store_file_ids(*, store: VectorStore, file_ids: list[str]) -> set[str]:
    """Those of ``file_ids`` already attached to ``store`` (whatever their status)."""
    return set(VectorStoreFile.objects.filter(vector_store=store, file_id__in=file_ids).values_list("file_id", flat=True))


def store_list(*, user, page: PageParams) -> tuple[list[VectorStore], bool]:
    return paginate(VectorStore.objects.filter(owner=user), page)


def file_counts(rows) -> dict:
    """{in_progress, completed, failed, cancelled, total} of a VectorStoreFile queryset, in one query."""
    agg = rows.aggregate(total=Count("pk"), **{s: Count("pk", filter=Q(status=s)) for s in STATUSES})
    return {s: agg[s] for s in STATUSES} | {"total": agg["total"]}


def store_counts(store: VectorStore) -> tuple[dict, int]:
    """The store's file_counts and usage_bytes, aggregated from its file rows (never drift)."""
    rows = VectorStoreFile.objects.filter(vector_store=store)
    counts = file_counts(rows)
    usage = rows.filter(status="completed").aggregate(u=Sum("usage_bytes"))["u"] or 0
    return counts, int(usage)


def store_counts_many(store_ids: list[str]) -> dict[str, tuple[dict, int]]:
    """store_counts for a page of stores in one query."""
    agg = (VectorStoreFile.objects.filter(vector_store_id__in=store_ids).values("vector_store_id")
           .annotate(total=Count("pk"), usage=Sum("usage_bytes", filter=Q(status="completed")),
                     **{s: Count("pk", filter=Q(status=s)) for s in STATUSES}))
    out = {sid: ({s: 0 for s in STATUSES} | {"total": 0}, 0) for sid in store_ids}
    for row in agg:
        out[row["vector_store_id"]] = ({s: row[s] for s in STATUSES} | {"total": row["total"]}, int(row["usage"] or 0))
    return out


def store_file_get(*, store: VectorStore, file_id: str) -> VectorStoreFile:
    row = VectorStoreFile.objects.filter(vector_store=store, file_id=file_id).first()
    if row is None:
        raise NotFound(f"No file found with id '{file_id}' in vector store '{store.id}'.", param="file_id")
    return row


def _file_page(rows, page: PageParams) -> tuple[list[VectorStoreFile], bool]:
    # Public cursors are file ids; the shared paginator walks (created_at, pk).
    def pk_of(cursor: str | None, param: str) -> str | None:
        if not cursor:
            return None
        pk = rows.filter(file_id=cursor).values_list("pk", flat=True).first()
        if pk is None:
            raise InvalidRequest(f"Invalid '{param}': no file {cursor!r} in this list.", param=param)
        return str(pk)

    params = PageParams(limit=page.limit, order=page.order, after=pk_of(page.after, "after"),
                        before=pk_of(page.before, "before"))
    return paginate(rows, params)


def store_files_list(*, store: VectorStore, page: PageParams, status: str | None,
                     batch: FileBatch | None = None) -> tuple[list[VectorStoreFile], bool]:
    rows = VectorStoreFile.objects.filter(vector_store=store)
    if batch is not None:
        rows = rows.filter(batch=batch)
    if status:
        rows = rows.filter(status=status)
    return _file_page(rows, page)


def batch_get(*, store: VectorStore, batch_id: str) -> FileBatch:
    batch = FileBatch.objects.filter(pk=batch_id, vector_store=store).first()
    if batch is None:
        raise NotFound(f"No file batch found with id '{batch_id}' in vector store '{store.id}'.", param="batch_id")
    return batch


def batch_counts(batch: FileBatch) -> dict:
    return file_counts(VectorStoreFile.objects.filter(batch=batch))


def file_chunks(row: VectorStoreFile) -> list[str]:
    return list(Chunk.objects.filter(store_file=row).order_by("seq").values_list("text", flat=True))
