"""Exact cosine search with numpy over a store's vectors, cached per process.

A store's vectors are loaded once into one (n, d) float32 matrix and kept while the
store's ``index_version`` is unchanged (every chunk write bumps it), so a query costs one
matrix-vector product: about 1 ms for 10,000 chunks of 384 dimensions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from retrieval.models import Chunk

MAX_CACHED_STORES = 32


@dataclass
class StoreMatrix:
    version: int
    chunk_ids: np.ndarray  # int64, row → chunk id
    file_pks: np.ndarray  # int64, row → VectorStoreFile pk
    matrix: np.ndarray  # float32 (n, d), unit rows


_cache: OrderedDict[str, StoreMatrix] = OrderedDict()
_lock = threading.Lock()


def store_matrix(store_id: str, version: int) -> StoreMatrix:
    """The store's vectors at ``version`` (from the cache, or loaded now)."""
    with _lock:
        cached = _cache.get(store_id)
        if cached is not None and cached.version == version:
            _cache.move_to_end(store_id)
            return cached
    rows = list(Chunk.objects.filter(vector_store_id=store_id, store_file__status="completed")
                .order_by("id").values_list("id", "store_file_id", "vector"))
    if rows:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        files = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=np.float32).reshape(len(rows), -1)
    else:
        ids = files = np.zeros(0, dtype=np.int64)
        matrix = np.zeros((0, 0), dtype=np.float32)
    entry = StoreMatrix(version=version, chunk_ids=ids, file_pks=files, matrix=matrix)
    with _lock:
        _cache[store_id] = entry
        _cache.move_to_end(store_id)
        while len(_cache) > MAX_CACHED_STORES:
            _cache.popitem(last=False)
    return entry


def vector_search(entry: StoreMatrix, query: np.ndarray, *, allowed_files: set[int] | None,
                  limit: int) -> list[tuple[int, float]]:
    """(chunk id, cosine) best first among rows whose file is allowed."""
    if entry.matrix.shape[0] == 0 or entry.matrix.shape[1] != query.shape[0]:
        return []
    scores = entry.matrix @ query
    if allowed_files is not None:
        mask = np.isin(entry.file_pks, np.fromiter(allowed_files, dtype=np.int64, count=len(allowed_files)))
        scores = np.where(mask, scores, -np.inf)
    limit = min(limit, scores.shape[0])
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(entry.chunk_ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
