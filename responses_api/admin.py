"""Responses in the admin: each links to the run (and so the thread) that produced it."""

from __future__ import annotations

from django.contrib import admin

from responses_api.models import Response


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "owner", "background", "in_conversation", "created_at")
    list_select_related = ("run", "owner")
    search_fields = ("^id", "^run__id", "^run__thread__id")
    raw_id_fields = ("run",)
    readonly_fields = ("id", "owner", "run", "created_at", "start_seq", "in_conversation", "previous_response_id",
                       "background", "store", "input_items", "extras")
