"""Searching stores: hybrid (vector + keyword, fused by RRF) by default, vector-only with ranker "none".

``search_stores`` is also the function the run engine calls for the `file_search` tool
(retrieval.tool). Per query and store it costs one embedding, one matrix-vector product
on the cached index, one keyword query and one query for the winning chunks' texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernel.errors import InvalidRequest
from retrieval.embedding import EmbeddingError, current_embedder
from retrieval.filters import matches
from retrieval.models import Chunk, VectorStore
from retrieval.search import pgvector
from retrieval.search.backend import keyword_search
from retrieval.search.fusion import reciprocal_rank_fusion
from retrieval.search.vectors import StoreIndex, store_index, vector_search

CANDIDATES = 50  # per list and query, before fusion
# RRF weights of the vector and keyword lists. Keywords count half: on the generated eval set
# (bench/retrieval) equal weights let keyword noise push answers found by meaning down
# (docs/performance.md#retrieval); hybrid_search.text_weight sets it per request.
EMBEDDING_WEIGHT = 1.0
TEXT_WEIGHT = 0.5


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
                  max_num_results: int = 10, ranker: str = "auto", score_threshold: float = 0.0,
                  weights: tuple[float, float] | None = None) -> list[Hit]:
    """The best chunks of ``stores`` for ``queries``, scores in 0–1, descending."""
    hits: list[Hit] = []
    vectors = None
    for store in stores:
        if not store.embedding_model:
            continue  # nothing ingested yet
        embedder = current_embedder()
        if embedder.name != store.embedding_model:
            raise InvalidRequest(
                f"Vector store '{store.id}' holds vectors of '{store.embedding_model}', but the server embeds "
                f"queries with '{embedder.name}'; vectors of two models are never compared.",
                param="vector_store_id", code="embedding_model_mismatch")
        if vectors is None:
            try:
                vectors = embedder.embed(queries)
            except EmbeddingError as exc:
                raise InvalidRequest(f"The query could not be embedded: {exc}", code="embedding_failed") from exc
        hits.extend(_search_one(store, queries, vectors, filters, max_num_results, ranker,
                                weights or (EMBEDDING_WEIGHT, TEXT_WEIGHT)))
    hits = [h for h in hits if h.score >= score_threshold]
    hits.sort(key=lambda h: (-h.score, h.chunk_id))
    hits = hits[:max_num_results]
    texts = dict(Chunk.objects.filter(pk__in=[h.chunk_id for h in hits]).values_list("pk", "text"))
    for hit in hits:
        hit.text = texts.get(hit.chunk_id, "")
    return hits


def _search_one(store: VectorStore, queries: list[str], vectors: np.ndarray, filters: dict | None, limit: int,
                ranker: str, weights: tuple[float, float]) -> list[Hit]:
    in_database = pgvector.enabled()
    index = store_index(store.pk, store.index_version, with_vectors=not in_database)
    if filters is None:
        allowed = None
    else:
        allowed = {pk for pk, (_, _, attrs) in index.files.items() if matches(filters, attrs)}
        if not allowed:
            return []
    rankings: list[list[int]] = []
    list_weights: list[float] = []
    cosine: dict[int, float] = {}
    for query, vector in zip(queries, vectors):
        size = CANDIDATES if ranker != "none" else limit
        query_vector = np.asarray(vector, dtype=np.float32)
        if in_database:
            vector_hits = pgvector.knn(store_id=store.pk, query=query_vector, limit=size, file_pks=allowed)
        else:
            vector_hits = vector_search(index, query_vector, allowed_files=allowed, limit=size)
        for chunk_id, score in vector_hits:
            cosine[chunk_id] = max(cosine.get(chunk_id, -1.0), score)
        rankings.append([c for c, _ in vector_hits])
        list_weights.append(weights[0])
        if ranker != "none":
            rankings.append(_keyword_ids(index, store.pk, query, allowed))
            list_weights.append(weights[1])
    if ranker == "none":
        scored = sorted(((c, max(0.0, min(1.0, s))) for c, s in cosine.items()), key=lambda kv: (-kv[1], kv[0]))
    else:
        scored = reciprocal_rank_fusion(rankings, weights=list_weights)
    scored = scored[:limit]
    out = []
    for (chunk_id, score), pk in zip(scored, index.file_of([c for c, _ in scored])):
        if pk is None or pk not in index.files:
            continue
        file_id, name, attrs = index.files[pk]
        out.append(Hit(chunk_id=chunk_id, score=round(float(score), 6), file_id=file_id, filename=name,
                       attributes=attrs, vector_store_id=store.pk))
    return out


def _keyword_ids(index: StoreIndex, store_id: str, query: str, allowed: set[int] | None) -> list[int]:
    rows = keyword_search(store_id=store_id, query=query, limit=CANDIDATES * 2)
    ids = [c for c, _ in rows]
    owners = index.file_of(ids)
    return [c for c, pk in zip(ids, owners) if pk is not None and (allowed is None or pk in allowed)][:CANDIDATES]
