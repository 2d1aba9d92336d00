"""``tool_resources.file_search`` of assistants and threads, made concrete for the caller.

Assistants and threads name vector stores in ``tool_resources.file_search`` in one of two
ways (OpenAI's contract): ``vector_store_ids`` (stores of the caller's own, checked here) or
the ``vector_stores`` helper, which creates a store from file ids on the fly. Either way the
stored and returned form is ``{"vector_store_ids": [...]}``. The upper layers call this inside
the transaction that writes the assistant or thread, so a bad id leaves nothing half-made.
"""

from __future__ import annotations

from kernel.errors import InvalidRequest
from retrieval.models import VectorStore
from retrieval.selectors import store_file_ids, store_ids_usable
from retrieval.services.files import attach_files
from retrieval.services.stores import store_create


def file_search_resources(*, user, file_search: dict, path: str = "tool_resources.file_search") -> dict:
    """``{"vector_store_ids": [...]}`` for a validated ``file_search`` resource: a store id that
    is not the user's usable store is a 400 naming the param; ``vector_stores`` are created
    here. The caller has checked their file ids already (files.references: a 400 naming the
    param; attach_files would answer 404)."""
    if file_search.get("vector_stores") is not None:
        return {"vector_store_ids": [_created_store(user=user, spec=spec) for spec in file_search["vector_stores"]]}
    if file_search.get("vector_store_ids") is None:
        return {}
    ids = list(file_search["vector_store_ids"])
    usable = store_ids_usable(user=user, store_ids=ids)
    for i, store_id in enumerate(ids):
        if store_id not in usable:
            param = f"{path}.vector_store_ids[{i}]"
            raise InvalidRequest(f"Invalid '{param}': no vector store with id '{store_id}' (or it has expired).",
                                 param=param, code="invalid_vector_store_id")
    return {"vector_store_ids": ids}


def _created_store(*, user, spec: dict) -> str:
    store = store_create(user=user, name="", description=None, metadata=spec.get("metadata") or {},
                         expires_after=None, file_ids=list(dict.fromkeys(spec.get("file_ids") or [])),
                         chunking_strategy=spec.get("chunking_strategy"))
    return store.id


def store_add_files_or_create(*, user, store_id: str | None, file_ids: list[str], name: str,
                              expires_after: dict | None) -> str:
    """Attach ``file_ids`` (already checked to be the user's) to the user's usable store
    ``store_id``, or to a new store (``name``, ``expires_after``) when that is None, gone or
    expired. Files already in the store are left as they are (not ingested again). Returns the
    store's id."""
    store = None
    if store_id and store_ids_usable(user=user, store_ids=[store_id]):
        store = VectorStore.objects.get(pk=store_id)
    if store is None:
        return store_create(user=user, name=name, description=None, metadata={}, expires_after=expires_after,
                            file_ids=list(dict.fromkeys(file_ids)), chunking_strategy=None).id
    present = store_file_ids(store=store, file_ids=file_ids)
    fresh = [i for i in dict.fromkeys(file_ids) if i not in present]
    if fresh:
        attach_files(store=store, user=user,
                     items=[{"file_id": i, "attributes": None, "chunking_strategy": None} for i in fresh])
    return store.id
