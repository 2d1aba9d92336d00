"""Exact cosine search with numpy over a store's vectors, cached per process.

A store's completed chunks are loaded once into one (n, d) float32 matrix, with their
files' ids, names and attributes, and kept while the store's ``index_version`` is
unchanged (every chunk write and attribute update bumps it). A query then costs one
matrix-vector product (about 1 ms for 10,000 chunks of 384 dimensions) and no query for
files.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from retrieval.models import Chunk, VectorStoreFile

MAX_CACHED_STORES = 32


@dataclass
class StoreIndex:
    version: int
    chunk_ids: np.ndarray  # int64, ascending: row → chunk id
    file_pks: np.ndarray  # int64, row → VectorStoreFile pk
    matrix: np.ndarray  # float32 (n, d), unit rows
    files: dict[int, tuple[str, str, dict]] = field(default_factory=dict)  # pk → (file id, filename, attributes)

    def file_of(self, chunk_ids: list[int]) -> list[int | None]:
        """The file pk of each chunk id (None for chunks not in the index: files not completed)."""
        if not chunk_ids or self.chunk_ids.size == 0:
            return [None] * len(chunk_ids)
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.chunk_ids, wanted), self.chunk_ids.size - 1)
        found = self.chunk_ids[pos] == wanted
        return [int(self.file_pks[p]) if ok else None for p, ok in zip(pos, found)]


_cache: OrderedDict[str, StoreIndex] = OrderedDict()
_lock = threading.Lock()


def store_index(store_id: str, version: int, *, with_vectors: bool = True) -> StoreIndex:
    """The store's index at ``version`` (from the cache, or loaded now); without vectors when
    the database searches them itself (pgvector)."""
    with _lock:
        cached = _cache.get(store_id)
        if cached is not None and cached.version == version:
            _cache.move_to_end(store_id)
            return cached
    files = {pk: (file_id, name, attrs or {}) for pk, file_id, name, attrs in
             VectorStoreFile.objects.filter(vector_store_id=store_id, status="completed")
             .values_list("pk", "file_id", "filename", "attributes")}
    columns = ("id", "store_file_id", "vector") if with_vectors else ("id", "store_file_id")
    rows = list(Chunk.objects.filter(vector_store_id=store_id, store_file_id__in=list(files))
                .order_by("id").values_list(*columns)) if files else []
    if rows:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        owners = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        matrix = (np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=np.float32).reshape(len(rows), -1)
                  if with_vectors else np.zeros((0, 0), dtype=np.float32))
    else:
        ids = owners = np.zeros(0, dtype=np.int64)
        matrix = np.zeros((0, 0), dtype=np.float32)
    entry = StoreIndex(version=version, chunk_ids=ids, file_pks=owners, matrix=matrix, files=files)
    with _lock:
        _cache[store_id] = entry
        _cache.move_to_end(store_id)
        while len(_cache) > MAX_CACHED_STORES:
            _cache.popitem(last=False)
    return entry


def vector_search(entry: StoreIndex, query: np.ndarray, *, allowed_files: set[int] | None,
                  limit: int) -> list[tuple[int, float]]:
    """(chunk id, cosine) best first among rows whose file is allowed (None: all)."""
    if entry.matrix.shape[0] == 0 or entry.matrix.shape[1] != query.shape[0]:
        return []
    # einsum, not `@`: the product stays on this thread. OpenBLAS would spread a matrix-vector
    # product over its own threads, which on a busy machine (the embedder's threads, other
    # requests) made it 15x slower (21 ms instead of 1.4 ms for 10,000 x 384, measured).
    scores = np.einsum("ij,j->i", entry.matrix, query)
    if allowed_files is not None:
        mask = np.isin(entry.file_pks, np.fromiter(allowed_files, dtype=np.int64, count=len(allowed_files)))
        scores = np.where(mask, scores, -np.inf)
    limit = min(limit, scores.shape[0])
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(entry.chunk_ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
