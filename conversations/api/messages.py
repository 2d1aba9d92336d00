"""`/v1/threads/{thread_id}/messages`: list (with `run_id`), create, retrieve, modify, delete."""

from __future__ import annotations

from rest_framework.response import Response

from conversations.presenters import message_object
from kernel.envelopes import deleted_object, list_object
from conversations.selectors import message_get_for_user, message_list, thread_get_for_user
from conversations.services.messages import message_create, message_delete, message_update
from kernel.api.views import V1APIView
from kernel.pagination import page_params_from_query
from conversations.validation import validate_message_create, validate_metadata_only


class MessageListView(V1APIView):
    def get(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        page = page_params_from_query(request.query_params)
        run_id = request.query_params.get("run_id") or None
        messages, has_more = message_list(thread=thread, page=page, run_id=run_id)
        return Response(list_object([message_object(m) for m in messages], has_more))

    def post(self, request, thread_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        data = validate_message_create(request.data)
        return Response(message_object(message_create(thread=thread, **data)))


class MessageDetailView(V1APIView):
    def _message(self, request, thread_id: str, message_id: str):
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        return message_get_for_user(user=request.user, thread=thread, message_id=message_id)

    def get(self, request, thread_id: str, message_id: str):
        return Response(message_object(self._message(request, thread_id, message_id)))

    def post(self, request, thread_id: str, message_id: str):
        message = self._message(request, thread_id, message_id)
        fields = validate_metadata_only(request.data)
        if fields:
            message = message_update(message=message, **fields)
        return Response(message_object(message))

    def delete(self, request, thread_id: str, message_id: str):
        message = self._message(request, thread_id, message_id)
        message_delete(message=message)
        return Response(deleted_object(message_id, "thread.message"))
