"""Routes of the Responses and Conversations APIs (included by entities_project.api.urls)."""

from django.urls import path

from responses_api import views

urlpatterns = [
    path("responses", views.ResponseCreateView.as_view(), name="response-create"),
    path("responses/input_tokens", views.InputTokensView.as_view(), name="response-input-tokens"),
    path("responses/<str:response_id>", views.ResponseDetailView.as_view(), name="response-detail"),
    path("responses/<str:response_id>/cancel", views.ResponseCancelView.as_view(), name="response-cancel"),
    path("responses/<str:response_id>/input_items", views.ResponseInputItemsView.as_view(),
         name="response-input-items"),
    path("conversations", views.ConversationCreateView.as_view(), name="conversation-create"),
    path("conversations/<str:conversation_id>", views.ConversationDetailView.as_view(), name="conversation-detail"),
    path("conversations/<str:conversation_id>/items", views.ConversationItemsView.as_view(),
         name="conversation-items"),
    path("conversations/<str:conversation_id>/items/<str:item_id>", views.ConversationItemDetailView.as_view(),
         name="conversation-item-detail"),
]
