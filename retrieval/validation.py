"""Request bodies of the vector store routes, checked field by field (400 with the param's path)."""

from __future__ import annotations

from typing import Any

from kernel.errors import InvalidRequest
from kernel.validation import fields as f
from retrieval.filters import validate_filter

ATTRIBUTES_MAX = 16
MAX_BATCH_FILES = 2000
FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")


def chunking_strategy(value: Any, path: str = "chunking_strategy") -> dict | None:
    """`{"type": "auto"}` or `{"type": "static", "static": {max_chunk_size_tokens, chunk_overlap_tokens}}`."""
    if value is None:
        return None
    f.obj(value, path, allowed=("type", "static"), required=("type",))
    kind = f.string(value["type"], f.join(path, "type"), choices=("auto", "static"))
    if kind == "auto":
        return {"type": "auto"}
    static = f.obj(value.get("static"), f.join(path, "static"),
                   allowed=("max_chunk_size_tokens", "chunk_overlap_tokens"),
                   required=("max_chunk_size_tokens", "chunk_overlap_tokens"))
    size = f.integer(static["max_chunk_size_tokens"], f.join(path, "static.max_chunk_size_tokens"),
                     minimum=100, maximum=4096, nullable=False)
    overlap = f.integer(static["chunk_overlap_tokens"], f.join(path, "static.chunk_overlap_tokens"),
                        minimum=0, nullable=False)
    if overlap > size // 2:
        raise f.invalid_value(f.join(path, "static.chunk_overlap_tokens"),
                              f"{overlap} is more than half of max_chunk_size_tokens ({size}).")
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def attributes(value: Any, path: str = "attributes") -> dict | None:
    """At most 16 pairs; keys ≤64 characters; values strings ≤512 characters, numbers or booleans."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise f.invalid_type(path, "an object", value)
    if len(value) > ATTRIBUTES_MAX:
        raise f.invalid_value(path, f"too many properties (at most {ATTRIBUTES_MAX}).")
    for key, item in value.items():
        if len(key) > 64:
            raise f.invalid_value(path, f"key too long (at most 64 characters): {key[:70]!r}.")
        if isinstance(item, str):
            f.string(item, f.join(path, key), max_length=512)
        elif not isinstance(item, (bool, int, float)):
            raise f.invalid_type(f.join(path, key), "a string, number or boolean", item)
    return dict(value)


def expires_after(value: Any, path: str = "expires_after") -> dict | None:
    if value is None:
        return None
    f.obj(value, path, allowed=("anchor", "days"), required=("anchor", "days"))
    f.string(value["anchor"], f.join(path, "anchor"), choices=("last_active_at",))
    days = f.integer(value["days"], f.join(path, "days"), minimum=1, maximum=365, nullable=False)
    return {"anchor": "last_active_at", "days": days}


def _file_ids(value: Any, path: str, *, max_items: int) -> list[str]:
    items = f.array(value, path, max_items=max_items)
    return [f.string(item, f.join(path, i), non_empty=True, max_length=64) for i, item in enumerate(items)]


def validate_store_create(body: Any) -> dict:
    f.obj(body, "", allowed=("name", "description", "metadata", "expires_after", "file_ids", "chunking_strategy"))
    return {
        "name": f.string(body.get("name"), "name", max_length=256, nullable=True) or "",
        "description": f.string(body.get("description"), "description", max_length=512, nullable=True),
        "metadata": f.metadata(body.get("metadata")) or {},
        "expires_after": expires_after(body.get("expires_after")),
        "file_ids": _file_ids(body.get("file_ids") or [], "file_ids", max_items=500),
        "chunking_strategy": chunking_strategy(body.get("chunking_strategy")),
    }


def validate_store_update(body: Any) -> dict:
    f.obj(body, "", allowed=("name", "metadata", "expires_after"))
    out: dict = {}
    if "name" in body:
        out["name"] = f.string(body["name"], "name", max_length=256, nullable=True) or ""
    if "metadata" in body:
        out["metadata"] = f.metadata(body["metadata"]) or {}
    if "expires_after" in body:
        out["expires_after"] = expires_after(body["expires_after"])
    return out


def validate_file_attach(body: Any) -> dict:
    f.obj(body, "", allowed=("file_id", "attributes", "chunking_strategy"), required=("file_id",))
    return {
        "file_id": f.string(body["file_id"], "file_id", non_empty=True, max_length=64),
        "attributes": attributes(body.get("attributes")),
        "chunking_strategy": chunking_strategy(body.get("chunking_strategy")),
    }


def validate_file_update(body: Any) -> dict:
    f.obj(body, "", allowed=("attributes",), required=("attributes",))
    return {"attributes": attributes(body.get("attributes"))}


def validate_batch_create(body: Any) -> list[dict]:
    """One entry per file: {file_id, attributes, chunking_strategy}."""
    f.obj(body, "", allowed=("file_ids", "files", "attributes", "chunking_strategy"))
    if body.get("file_ids") is not None and body.get("files") is not None:
        raise InvalidRequest("'file_ids' and 'files' are mutually exclusive.", param="files")
    if body.get("files") is not None:
        items = f.array(body["files"], "files", min_items=1, max_items=MAX_BATCH_FILES)
        out = []
        for i, item in enumerate(items):
            path = f"files[{i}]"
            f.obj(item, path, allowed=("file_id", "attributes", "chunking_strategy"), required=("file_id",))
            out.append({"file_id": f.string(item["file_id"], f.join(path, "file_id"), non_empty=True, max_length=64),
                        "attributes": attributes(item.get("attributes"), f.join(path, "attributes")),
                        "chunking_strategy": chunking_strategy(item.get("chunking_strategy"),
                                                               f.join(path, "chunking_strategy"))})
        return out
    if body.get("file_ids") is None:
        raise InvalidRequest("Missing required parameter: 'file_ids' (or 'files').", param="file_ids",
                             code="missing_required_parameter")
    ids = _file_ids(body["file_ids"], "file_ids", max_items=MAX_BATCH_FILES)
    if not ids:
        raise f.invalid_value("file_ids", "empty array. Expected at least one file id.")
    shared_attributes = attributes(body.get("attributes"))
    strategy = chunking_strategy(body.get("chunking_strategy"))
    return [{"file_id": i, "attributes": shared_attributes, "chunking_strategy": strategy} for i in ids]


def validate_search(body: Any) -> dict:
    f.obj(body, "", allowed=("query", "filters", "max_num_results", "ranking_options", "rewrite_query"),
          required=("query",))
    query = body["query"]
    if isinstance(query, list):
        queries = [f.string(q, f"query[{i}]", max_length=4096) for i, q in enumerate(query)]
        if not queries:
            raise f.invalid_value("query", "empty array.")
    else:
        queries = [f.string(query, "query", max_length=4096)]
    if not any(q.strip() for q in queries):
        raise f.invalid_value("query", "the query is empty.")
    ranking = body.get("ranking_options") or {}
    f.obj(ranking, "ranking_options", allowed=("ranker", "score_threshold", "hybrid_search"))
    ranker = f.string(ranking.get("ranker"), "ranking_options.ranker", nullable=True,
                      choices=("none", "auto", "default-2024-11-15")) or "auto"
    threshold = f.number(ranking.get("score_threshold"), "ranking_options.score_threshold", minimum=0, maximum=1)
    weights = None
    if ranking.get("hybrid_search") is not None:
        path = "ranking_options.hybrid_search"
        hybrid = f.obj(ranking["hybrid_search"], path, allowed=("embedding_weight", "text_weight"),
                       required=("embedding_weight", "text_weight"))
        weights = (f.number(hybrid["embedding_weight"], f.join(path, "embedding_weight"), minimum=0, maximum=1e6,
                            nullable=False),
                   f.number(hybrid["text_weight"], f.join(path, "text_weight"), minimum=0, maximum=1e6,
                            nullable=False))
        if not sum(weights):
            raise f.invalid_value(path, "the weights cannot both be 0.")
    return {
        "queries": queries,
        "filters": validate_filter(body["filters"]) if body.get("filters") is not None else None,
        "max_num_results": f.integer(body.get("max_num_results"), "max_num_results", minimum=1, maximum=50) or 10,
        "ranker": ranker,
        "score_threshold": threshold or 0.0,
        "weights": weights,
        "rewrite_query": bool(f.boolean(body.get("rewrite_query"), "rewrite_query", nullable=True)),
    }


def validate_file_filter(query) -> str | None:
    value = query.get("filter")
    if value in (None, ""):
        return None
    return f.string(value, "filter", choices=FILE_STATUSES)
