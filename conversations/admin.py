"""Admin for threads, messages, runs and actions.

Runs and actions are the engine's record, so they are read-only here apart from
metadata; the writes that exist go through the same services as the API.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from conversations.models import Action, Message, Run, Thread
from conversations.services.messages import message_delete, message_update
from conversations.services.runs import run_cancel, run_update
from conversations.services.threads import thread_create, thread_delete, thread_update
from kernel.errors import EntitiesError

PREVIEW_CHARS = 80


def _pretty_json(value) -> str:
    if value is None:
        return "-"
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
                       json.dumps(value, indent=2, ensure_ascii=False))


def _messages_containing(term: str) -> QuerySet[Message]:
    """Messages whose stored content contains ``term``, on SQLite and PostgreSQL alike.

    The content is JSON cast to text. SQLite keeps the JSON as written (non-ASCII and
    quotes escaped), PostgreSQL renders jsonb with the characters themselves, so both
    spellings are looked for. Words of the JSON structure ("text", "value") match too.
    """
    escaped = json.dumps(term)[1:-1]
    match = Q(content_text__icontains=term)
    if escaped != term:
        match |= Q(content_text__icontains=escaped)
    return Message.objects.annotate(content_text=Cast("content", TextField())).filter(match)


class MessageTextSearch:
    """Widens the default admin search to rows with a message whose text contains the term."""

    message_text_column = "pk"  # the column of Message that names the row

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            # ``queryset`` already carries the list filters; OR-ing on it keeps them.
            hits = _messages_containing(term).values(self.message_text_column)
            found = found | queryset.filter(pk__in=hits)
        return found, may_have_duplicates


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for context, changed on their own page (or not at all)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = readonly_fields = ("id", "role", "status", "preview", "created_at")

    @admin.display(description="text")
    def preview(self, message: Message) -> str:
        return Truncator(message.text()).chars(PREVIEW_CHARS)


class RunInline(ReadOnlyInline):
    model = Run
    fields = readonly_fields = ("id", "status", "model", "assistant_id", "created_at", "completed_at")


@admin.register(Thread)
class ThreadAdmin(MessageTextSearch, admin.ModelAdmin):
    list_display = ("id", "title", "owner", "created_at", "updated_at")
    list_select_related = ("owner",)
    search_fields = ("^id", "title", "owner__username")
    search_help_text = "Id, title, owner's username or the text of any message."
    message_text_column = "thread_id"
    raw_id_fields = ("owner",)
    inlines = (MessageInline, RunInline)

    def get_fields(self, request, obj=None):
        # On the add page the id and timestamps would be defaults that thread_create replaces.
        if obj is None:
            return ("owner", "title", "metadata", "tool_resources")
        return ("id", "owner", "title", "created_at", "updated_at", "metadata", "tool_resources")

    def get_readonly_fields(self, request, obj=None):
        # Messages and runs carry the thread's owner, so a thread cannot change hands.
        return ("id", "created_at", "updated_at") if obj is None else ("id", "owner", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if change:
            thread_update(thread=obj, **{name: getattr(obj, name) for name in form.changed_data})
            return
        made = thread_create(user=obj.owner, metadata=obj.metadata, tool_resources=obj.tool_resources)
        if obj.title:
            made = thread_update(thread=made, title=obj.title)
        obj.pk, obj.created_at, obj.updated_at = made.pk, made.created_at, made.updated_at

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Runs and actions are never deleted on their own, only with their thread
        # (thread_delete stops the active runs first), so they ask for no permission.
        perms_needed -= {Run._meta.verbose_name, Action._meta.verbose_name}
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        thread_delete(thread=obj)

    def delete_queryset(self, request, queryset):
        for thread in queryset:
            thread_delete(thread=thread)


@admin.register(Message)
class MessageAdmin(MessageTextSearch, admin.ModelAdmin):
    list_display = ("id", "thread", "role", "status", "preview", "run", "created_at")
    list_filter = ("role", "status")
    list_select_related = ("thread", "run")
    search_fields = ("^id", "^thread__id")
    search_help_text = "Message id, thread id or text."
    fields = (
        "id", "thread", "owner", "run", "assistant_id", "role", "status", "text", "content_json",
        "attachments_json", "incomplete_details_json", "created_at", "completed_at", "incomplete_at", "metadata",
    )
    readonly_fields = tuple(f for f in fields if f != "metadata")

    @admin.display(description="text")
    def preview(self, message: Message) -> str:
        return Truncator(message.text()).chars(PREVIEW_CHARS)

    @admin.display(description="content")
    def content_json(self, message: Message) -> str:
        return _pretty_json(message.content)

    @admin.display(description="attachments")
    def attachments_json(self, message: Message) -> str:
        return _pretty_json(message.attachments)

    @admin.display(description="incomplete details")
    def incomplete_details_json(self, message: Message) -> str:
        return _pretty_json(message.incomplete_details)

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        message_update(message=obj, metadata=obj.metadata)

    def delete_model(self, request, obj):
        message_delete(message=obj)

    def delete_queryset(self, request, queryset):
        for message in queryset:
            message_delete(message=message)


class ActionInline(ReadOnlyInline):
    model = Action
    fields = readonly_fields = (
        "id", "tool_type", "function_name", "status", "arguments_preview", "output_preview", "created_at",
        "completed_at",
    )

    @admin.display(description="arguments")
    def arguments_preview(self, action: Action) -> str:
        return Truncator(action.arguments).chars(PREVIEW_CHARS)

    @admin.display(description="output")
    def output_preview(self, action: Action) -> str:
        return Truncator(action.output or action.error or "").chars(PREVIEW_CHARS)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "thread", "assistant_id", "model", "status", "owner", "created_at")
    list_filter = ("status", "model")
    list_select_related = ("thread", "owner")
    search_fields = ("^id", "^thread__id", "^assistant_id")
    inlines = (ActionInline,)
    actions = ("cancel_runs",)
    fieldsets = (
        (None, {"fields": ("id", "thread", "owner", "assistant", "model", "status")}),
        ("Outcome", {"fields": ("last_error_json", "usage_json", "required_action_json", "incomplete_details_json")}),
        ("Timestamps", {"fields": ("created_at", "started_at", "expires_at", "cancelled_at", "failed_at",
                                   "completed_at")}),
        ("Request", {"classes": ("collapse",), "fields": (
            "instructions", "additional_instructions", "tools_json", "tool_choice", "parallel_tool_calls",
            "response_format", "temperature", "top_p", "reasoning_effort", "max_prompt_tokens",
            "max_completion_tokens", "truncation_strategy")}),
        ("Engine", {"classes": ("collapse",), "fields": ("lease_owner", "lease_expires_at", "tool_rounds", "event_seq")}),
        ("Metadata", {"fields": ("metadata",)}),
    )
    readonly_fields = tuple(f for _, spec in fieldsets for f in spec["fields"] if f != "metadata")

    @admin.display(description="assistant")
    def assistant(self, run: Run) -> str:
        if not run.assistant_id:
            return "— (a Responses API run: no assistant)"
        # The admin escapes "_" in ids (``quote``); "asst_3C…" would otherwise read as "asst<…".
        url = reverse("admin:assistants_assistant_change", args=[quote(run.assistant_id)])
        return format_html('<a href="{}">{}</a>', url, run.assistant_id)

    @admin.display(description="last error")
    def last_error_json(self, run: Run) -> str:
        return _pretty_json(run.last_error)

    @admin.display(description="usage")
    def usage_json(self, run: Run) -> str:
        return _pretty_json(run.usage)

    @admin.display(description="required action")
    def required_action_json(self, run: Run) -> str:
        return _pretty_json(run.required_action)

    @admin.display(description="incomplete details")
    def incomplete_details_json(self, run: Run) -> str:
        return _pretty_json(run.incomplete_details)

    @admin.display(description="tools")
    def tools_json(self, run: Run) -> str:
        return _pretty_json(run.tools)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A run disappears with its thread (thread_delete stops it first), never alone.
        return False

    def save_model(self, request, obj, form, change):
        run_update(run=obj, metadata=obj.metadata)

    @admin.action(description="Cancel selected runs", permissions=["change"])
    def cancel_runs(self, request, queryset) -> None:
        cancelled, refused = 0, []
        for run in queryset:
            try:
                run_cancel(run=run)
                cancelled += 1
            except EntitiesError as exc:
                refused.append(exc.message)
        if cancelled:
            self.message_user(request, f"Asked {cancelled} run(s) to stop.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    """Tool calls as the engine recorded them; nothing here is editable."""

    list_display = ("id", "run", "function_name", "tool_type", "status", "client_side", "created_at")
    list_filter = ("status", "tool_type", "client_side")
    list_select_related = ("run",)
    search_fields = ("^id", "function_name", "^run__id")
    fields = readonly_fields = (
        "id", "run", "owner", "step_id", "index", "tool_type", "function_name", "client_side", "status",
        "arguments", "output", "outputs_json", "error", "created_at", "completed_at", "expires_at",
    )

    @admin.display(description="outputs")
    def outputs_json(self, action: Action) -> str:
        return _pretty_json(action.outputs)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
