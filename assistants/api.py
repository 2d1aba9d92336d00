"""`/v1/assistants`: list, create, retrieve, modify (POST), delete."""

from __future__ import annotations

from rest_framework.response import Response

from assistants.presenters import assistant_object
from assistants.selectors import assistant_get_for_user, assistant_list
from assistants.services import assistant_create, assistant_delete, assistant_update
from kernel.envelopes import deleted_object, list_object
from kernel.api.views import V1APIView
from kernel.pagination import page_params_from_query
from assistants.validation import validate_assistant_create, validate_assistant_update


class AssistantListView(V1APIView):
    def get(self, request):
        page = page_params_from_query(request.query_params)
        assistants, has_more = assistant_list(user=request.user, page=page)
        return Response(list_object([assistant_object(a) for a in assistants], has_more))

    def post(self, request):
        fields = validate_assistant_create(request.data)
        return Response(assistant_object(assistant_create(user=request.user, **fields)))


class AssistantDetailView(V1APIView):
    def get(self, request, assistant_id: str):
        return Response(assistant_object(assistant_get_for_user(user=request.user, assistant_id=assistant_id)))

    def post(self, request, assistant_id: str):
        assistant = assistant_get_for_user(user=request.user, assistant_id=assistant_id)
        fields = validate_assistant_update(request.data)
        return Response(assistant_object(assistant_update(assistant=assistant, **fields)))

    def delete(self, request, assistant_id: str):
        assistant = assistant_get_for_user(user=request.user, assistant_id=assistant_id)
        assistant_delete(assistant=assistant)
        return Response(deleted_object(assistant_id, "assistant"))
