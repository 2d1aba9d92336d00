"""`/v1/vector_stores` and its `/files`, `/file_batches` and `/search` routes (thin: rules live in services)."""

from __future__ import annotations

from rest_framework.response import Response

from kernel.api.views import POLL_AFTER_MS, V1APIView
from kernel.envelopes import deleted_object, list_object
from kernel.pagination import page_params_from_query
from retrieval import selectors as sel
from retrieval.presenters import batch_object, store_file_object, vector_store_object
from retrieval.search.service import search_stores
from retrieval.services import activity
from retrieval.services import files as file_services
from retrieval.services import stores as store_services
from retrieval.validation import (validate_batch_create, validate_file_attach, validate_file_filter,
                                  validate_file_update, validate_search, validate_store_create,
                                  validate_store_update)
from retrieval.worker import workers


class RetrievalView(V1APIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Ingestion runs in the processes that serve this API (and in `manage.py ingest_worker`).
        workers.ensure_started()

    def store(self, request, store_id: str):
        return sel.store_get_for_user(user=request.user, store_id=store_id)


def _store_json(store) -> dict:
    counts, usage = sel.store_counts(store)
    return vector_store_object(store, counts, usage)


class VectorStoreListView(RetrievalView):
    def get(self, request):
        stores, has_more = sel.store_list(user=request.user, page=page_params_from_query(request.query_params))
        counts = sel.store_counts_many([s.pk for s in stores])
        return Response(list_object([vector_store_object(s, *counts[s.pk]) for s in stores], has_more))

    def post(self, request):
        fields = validate_store_create(request.data)
        return Response(_store_json(store_services.store_create(user=request.user, **fields)))


class VectorStoreDetailView(RetrievalView):
    def get(self, request, store_id: str):
        return Response(_store_json(self.store(request, store_id)))

    def post(self, request, store_id: str):
        store = self.store(request, store_id)
        fields = validate_store_update(request.data)
        return Response(_store_json(store_services.store_update(store=store, **fields)))

    def delete(self, request, store_id: str):
        store_services.store_delete(store=self.store(request, store_id))
        return Response(deleted_object(store_id, "vector_store"))


class StoreFileListView(RetrievalView):
    def get(self, request, store_id: str):
        store = self.store(request, store_id)
        rows, has_more = sel.store_files_list(store=store, page=page_params_from_query(request.query_params),
                                              status=validate_file_filter(request.query_params))
        return Response(list_object([store_file_object(r) for r in rows], has_more))

    def post(self, request, store_id: str):
        store = self.store(request, store_id)
        item = validate_file_attach(request.data)
        (row,) = file_services.attach_files(store=store, user=request.user, items=[item])
        return Response(store_file_object(row))


class StoreFileDetailView(RetrievalView):
    def get(self, request, store_id: str, file_id: str):
        row = sel.store_file_get(store=self.store(request, store_id), file_id=file_id)
        # The SDK's poll helpers wait this long between GETs when the server says so.
        return Response(store_file_object(row), headers={"openai-poll-after-ms": POLL_AFTER_MS})

    def post(self, request, store_id: str, file_id: str):
        row = sel.store_file_get(store=self.store(request, store_id), file_id=file_id)
        fields = validate_file_update(request.data)
        return Response(store_file_object(file_services.file_update_attributes(row=row, **fields)))

    def delete(self, request, store_id: str, file_id: str):
        row = sel.store_file_get(store=self.store(request, store_id), file_id=file_id)
        file_services.file_detach(row=row)
        return Response(deleted_object(file_id, "vector_store.file"))


class StoreFileContentView(RetrievalView):
    def get(self, request, store_id: str, file_id: str):
        row = sel.store_file_get(store=self.store(request, store_id), file_id=file_id)
        chunks = sel.file_chunks(row)
        return Response({"object": "vector_store.file_content.page", "data": [{"type": "text", "text": t} for t in chunks],
                         "has_more": False, "next_page": None})


class FileBatchCreateView(RetrievalView):
    def post(self, request, store_id: str):
        store = self.store(request, store_id)
        items = validate_batch_create(request.data)
        batch = file_services.batch_create(store=store, user=request.user, items=items)
        return Response(batch_object(batch, sel.batch_counts(batch)))


class FileBatchDetailView(RetrievalView):
    def get(self, request, store_id: str, batch_id: str):
        batch = sel.batch_get(store=self.store(request, store_id), batch_id=batch_id)
        return Response(batch_object(batch, sel.batch_counts(batch)), headers={"openai-poll-after-ms": POLL_AFTER_MS})


class FileBatchCancelView(RetrievalView):
    def post(self, request, store_id: str, batch_id: str):
        batch = sel.batch_get(store=self.store(request, store_id), batch_id=batch_id)
        batch = file_services.batch_cancel(batch=batch)
        return Response(batch_object(batch, sel.batch_counts(batch)))


class FileBatchFilesView(RetrievalView):
    def get(self, request, store_id: str, batch_id: str):
        store = self.store(request, store_id)
        batch = sel.batch_get(store=store, batch_id=batch_id)
        rows, has_more = sel.store_files_list(store=store, batch=batch,
                                              page=page_params_from_query(request.query_params),
                                              status=validate_file_filter(request.query_params))
        return Response(list_object([store_file_object(r) for r in rows], has_more))


class VectorStoreSearchView(RetrievalView):
    def post(self, request, store_id: str):
        store = self.store(request, store_id)
        params = validate_search(request.data)
        activity.ensure_usable(store)
        hits = search_stores([store], queries=params["queries"], filters=params["filters"],
                             max_num_results=params["max_num_results"], ranker=params["ranker"],
                             score_threshold=params["score_threshold"], weights=params["weights"])
        activity.store_touch(store)
        return Response({
            "object": "vector_store.search_results.page",
            "search_query": params["queries"],
            "data": [{"file_id": h.file_id, "filename": h.filename, "score": h.score, "attributes": h.attributes,
                      "content": [{"type": "text", "text": h.text}]} for h in hits],
            "has_more": False,
            "next_page": None,
        })
