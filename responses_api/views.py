"""/v1/responses and /v1/conversations: parse, authorise, call one service or selector, present.

The Responses API takes no `OpenAI-Beta` header (the Assistants views check it).
"""

from __future__ import annotations

from rest_framework.response import Response as JsonResponse

from kernel.api.views import V1APIView
from kernel.envelopes import deleted_object
from kernel.errors import InvalidRequest
from responses_api import validation
from responses_api.http import CANCEL_WAIT_SECONDS, json_response_when_done, stream_response
from responses_api.presenters import conversation_object
from responses_api.selectors import (
    conversation_get_for_user, conversation_item_get, conversation_items, response_detail, response_get_for_user,
    response_input_items,
)
from responses_api.services.conversations import (
    conversation_create, conversation_delete, conversation_item_delete, conversation_items_add, conversation_update,
)
from responses_api.services.responses import response_cancel, response_create, response_delete
from responses_api.tokens import input_tokens_count


class ResponsesView(V1APIView):
    """A /v1 view (auth, throttles, the error envelope) that takes any `OpenAI-Beta` header."""

    checks_beta_header = False


def _item_list(items: list[dict], has_more: bool) -> dict:
    return {"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None, "has_more": has_more}


class ResponseCreateView(ResponsesView):
    def post(self, request):
        spec = validation.response_create(request.data)
        response = response_create(user=request.user, spec=spec)
        if spec["stream"]:
            return stream_response(response)
        if spec["background"]:
            return JsonResponse(response_detail(response))
        return json_response_when_done(response)


def _starting_after(request) -> int:
    raw = request.query_params.get("starting_after")
    if raw in (None, ""):
        return -1
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidRequest("Invalid 'starting_after': expected an integer.", param="starting_after") from exc
    return value


class ResponseDetailView(ResponsesView):
    def get(self, request, response_id: str):
        response = response_get_for_user(user=request.user, response_id=response_id)
        if request.query_params.get("stream") in ("true", "1", "True"):
            return stream_response(response, starting_after=_starting_after(request))
        return JsonResponse(response_detail(response))

    def delete(self, request, response_id: str):
        response = response_get_for_user(user=request.user, response_id=response_id)
        response_delete(response=response)
        return JsonResponse(deleted_object(response_id, "response"))


class ResponseCancelView(ResponsesView):
    def post(self, request, response_id: str):
        response = response_cancel(response=response_get_for_user(user=request.user, response_id=response_id))
        return json_response_when_done(response, timeout=CANCEL_WAIT_SECONDS)


class ResponseInputItemsView(ResponsesView):
    def get(self, request, response_id: str):
        response = response_get_for_user(user=request.user, response_id=response_id)
        limit, order, after = validation.list_params(request.query_params)
        items, has_more = response_input_items(response=response, limit=limit, order=order, after=after)
        return JsonResponse(_item_list(items, has_more))


class InputTokensView(ResponsesView):
    def post(self, request):
        return JsonResponse({"object": "response.input_tokens", "input_tokens": input_tokens_count(body=request.data)})


class ConversationCreateView(ResponsesView):
    def post(self, request):
        fields = validation.conversation_create(request.data)
        return JsonResponse(conversation_object(conversation_create(user=request.user, **fields)))


class _ConversationView(ResponsesView):
    """A view under /v1/conversations/{id}: each defines only its own methods (no inherited
    handler may answer a route it was not written for)."""

    def _thread(self, request, conversation_id: str):
        return conversation_get_for_user(user=request.user, conversation_id=conversation_id)


class ConversationDetailView(_ConversationView):
    def get(self, request, conversation_id: str):
        return JsonResponse(conversation_object(self._thread(request, conversation_id)))

    def post(self, request, conversation_id: str):
        thread = self._thread(request, conversation_id)
        fields = validation.conversation_update(request.data)
        return JsonResponse(conversation_object(conversation_update(thread=thread, **fields)))

    def delete(self, request, conversation_id: str):
        conversation_delete(thread=self._thread(request, conversation_id))
        return JsonResponse(deleted_object(conversation_id, "conversation"))


class ConversationItemsView(_ConversationView):
    def get(self, request, conversation_id: str):
        thread = self._thread(request, conversation_id)
        limit, order, after = validation.list_params(request.query_params)
        items, has_more = conversation_items(thread=thread, limit=limit, order=order, after=after)
        return JsonResponse(_item_list(items, has_more))

    def post(self, request, conversation_id: str):
        thread = self._thread(request, conversation_id)
        messages = conversation_items_add(thread=thread, messages=validation.conversation_items_create(request.data))
        ids = {m.id for m in messages}
        items, _ = conversation_items(thread=thread, limit=100, order="desc", after=None)
        return JsonResponse(_item_list([i for i in reversed(items) if i["id"] in ids], False))


class ConversationItemDetailView(_ConversationView):
    def get(self, request, conversation_id: str, item_id: str):
        thread = self._thread(request, conversation_id)
        return JsonResponse(conversation_item_get(thread=thread, item_id=item_id))

    def delete(self, request, conversation_id: str, item_id: str):
        thread = self._thread(request, conversation_id)
        conversation_item_delete(thread=thread, item_id=item_id)
        return JsonResponse(conversation_object(thread))
