"""Searching stores: hybrid (vector + keyword, fused by RRF) by default, vector-only with ranker "none".

``search_stores`` is also the function the run engine calls for the `file_search` tool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernel.errors import InvalidRequest
from retrieval.embedding import EmbeddingError, current_embedder
from retrieval.filters import matches
from retrieval.models import Chunk, VectorStore, VectorStoreFile
from retrieval.search.backend import keyword_search
from retrieval.search.fusion import reciprocal_rank_fusion
from retrieval.search.vectors import store_matrix, vector_search

CANDIDATES = 50  # per list and query, before fusion


@dataclass
class Hit:
    chunk_id: int
    score: float
    file_id: str = ""
    filename: str = ""
    attributes: dict | None = None
    text: str = ""
    vector_store_id: str = ""


def search_stores(stores: list[VectorStore], *, queries: list[str], filters: dict | None = None,
                  max_num_results: int = 10, ranker: str = "auto", score_threshold: float = 0.0) -> list[Hit]:
    """The best chunks of ``stores`` for ``queries``, scores in 0–1, descending."""
    hits: list[Hit] = []
    for store in stores:
        hits.extend(_search_one(store, queries, filters, max_num_results, ranker))
    hits = [h for h in hits if h.score >= score_threshold]
    hits.sort(key=lambda h: (-h.score, h.chunk_id))
    hits = hits[:max_num_results]
    texts = dict(Chunk.objects.filter(pk__in=[h.chunk_id for h in hits]).values_list("pk", "text"))
    for hit in hits:
        hit.text = texts.get(hit.chunk_id, "")
    return hits


def _search_one(store: VectorStore, queries: list[str], filters: dict | None, limit: int, ranker: str) -> list[Hit]:
    files = {pk: (file_id, name, attrs) for pk, file_id, name, attrs in
             VectorStoreFile.objects.filter(vector_store=store, status="completed")
             .values_list("pk", "file_id", "filename", "attributes")}
    allowed = {pk for pk, (_, _, attrs) in files.items() if matches(filters, attrs)}
    if not allowed or not store.embedding_model:
        return []
    embedder = current_embedder()
    if embedder.name != store.embedding_model:
        raise InvalidRequest(f"Vector store '{store.id}' holds vectors of '{store.embedding_model}', but the server "
                             f"embeds queries with '{embedder.name}'; vectors of two models are never compared.",
                             param="vector_store_id", code="embedding_model_mismatch")
    try:
        query_vectors = embedder.embed(queries)
    except EmbeddingError as exc:
        raise InvalidRequest(f"The query could not be embedded: {exc}", code="embedding_failed") from exc
    entry = store_matrix(store.pk, store.index_version)
    rankings: list[list[int]] = []
    cosine: dict[int, float] = {}
    for query, vector in zip(queries, query_vectors):
        vector_hits = vector_search(entry, np.asarray(vector, dtype=np.float32), allowed_files=allowed,
                                    limit=CANDIDATES if ranker != "none" else limit)
        for chunk_id, score in vector_hits:
            cosine[chunk_id] = max(cosine.get(chunk_id, -1.0), score)
        rankings.append([c for c, _ in vector_hits])
        if ranker != "none":
            rankings.append(_keyword_ids(store.pk, query, allowed))
    if ranker == "none":
        scored = sorted(((c, max(0.0, min(1.0, s))) for c, s in cosine.items()), key=lambda kv: (-kv[1], kv[0]))
    else:
        scored = reciprocal_rank_fusion(rankings)
    scored = scored[:limit]
    owners = dict(Chunk.objects.filter(pk__in=[c for c, _ in scored]).values_list("pk", "store_file_id"))
    out = []
    for chunk_id, score in scored:
        pk = owners.get(chunk_id)
        if pk not in files or pk not in allowed:
            continue
        file_id, name, attrs = files[pk]
        out.append(Hit(chunk_id=chunk_id, score=round(float(score), 6), file_id=file_id, filename=name,
                       attributes=attrs or {}, vector_store_id=store.pk))
    return out


def _keyword_ids(store_id: str, query: str, allowed: set[int]) -> list[int]:
    rows = keyword_search(store_id=store_id, query=query, limit=CANDIDATES * 2)
    if not rows:
        return []
    owners = dict(Chunk.objects.filter(pk__in=[c for c, _ in rows]).values_list("pk", "store_file_id"))
    return [c for c, _ in rows if owners.get(c) in allowed][:CANDIDATES]
