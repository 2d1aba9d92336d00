"""`/v1/threads`: create, retrieve, modify (POST), delete, and the Entities list extension."""

from __future__ import annotations

from rest_framework.response import Response

from conversations.presenters import thread_object
from kernel.envelopes import deleted_object, list_object
from conversations.selectors import thread_get_for_user, thread_list
from conversations.services.threads import thread_create, thread_delete, thread_update
from kernel.api.views import V1APIView
from kernel.pagination import page_params_from_query
from conversations.validation import validate_thread_create, validate_thread_update


class ThreadListView(V1APIView):
    def get(self, request):
        """Entities extension: the user's threads, newest first; `?search=` matches titles and message text."""
        page = page_params_from_query(request.query_params)
        search = (request.query_params.get("search") or "").strip() or None
        threads, has_more = thread_list(user=request.user, page=page, search=search)
        return Response(list_object([thread_object(t) for t in threads], has_more))

    def post(self, request):
        data = validate_thread_create(request.data)
        return Response(thread_object(thread_create(user=request.user, **data)))


class ThreadDetailView(V1APIView):
    def get(self, request, thread_id: str):
        return Response(thread_object(thread_get_for_user(user=request.user, thread_id=thread_id)))

    def post(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        fields = validate_thread_update(request.data)
        return Response(thread_object(thread_update(thread=thread, **fields)))

    def delete(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        thread_delete(thread=thread)
        return Response(deleted_object(thread_id, "thread"))
