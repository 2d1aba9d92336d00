"""Admin for assistants and API keys. Writes go through the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages

from assistants.keys import api_key_revoke
from assistants.models import ApiKey, Assistant
from assistants.services import ASSISTANT_FIELDS, assistant_create, assistant_delete, assistant_update

_ASSISTANT_BEHAVIOUR = (
    "instructions", "tools", "tool_resources", "response_format", "temperature", "top_p", "reasoning_effort",
)


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "model", "owner", "created_at")
    list_filter = ("model", "owner")
    list_select_related = ("owner",)
    search_fields = ("^id", "name", "instructions", "owner__username")
    raw_id_fields = ("owner",)
    ordering = ("-created_at", "-id")

    def get_fieldsets(self, request, obj=None):
        # The id and created_at are made by assistant_create; on the add page they would
        # show a default that is not the one the assistant will get.
        identity = ("owner", "name", "description", "model") if obj is None else (
            "id", "owner", "name", "description", "model", "created_at")
        return (
            (None, {"fields": identity}),
            ("Behaviour", {"fields": _ASSISTANT_BEHAVIOUR}),
            ("Metadata", {"fields": ("metadata",)}),
        )

    def get_readonly_fields(self, request, obj=None):
        # assistant_update cannot move an assistant to another user, so neither can the admin.
        return ("id", "created_at") if obj is None else ("id", "owner", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            assistant_update(assistant=obj, **{name: getattr(obj, name) for name in form.changed_data})
            return
        made = assistant_create(
            user=obj.owner, **{name: getattr(obj, name) for name in ASSISTANT_FIELDS})
        obj.pk, obj.created_at = made.pk, made.created_at

    def delete_model(self, request, obj):
        assistant_delete(assistant=obj)

    def delete_queryset(self, request, queryset):
        for assistant in queryset:
            assistant_delete(assistant=assistant)


class ActiveKeyFilter(admin.SimpleListFilter):
    title = "active"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return (("yes", "Active"), ("no", "Revoked"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "yes")
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are listed and revoked here, never shown: only their digest is stored.

    They are created with ``manage.py create_api_key USERNAME``, which prints the key once.
    """

    list_display = ("prefix", "name", "owner", "created_at", "last_used_at", "revoked_at", "active")
    list_filter = (ActiveKeyFilter,)
    list_select_related = ("owner",)
    search_fields = ("^prefix", "name", "owner__username")
    # The digest is left out of every form, list and search: it is a password hash.
    fields = ("prefix", "name", "owner", "active", "created_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    readonly_fields = ("prefix", "owner", "active", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_keys",)

    @admin.display(boolean=True, description="active")
    def active(self, key: ApiKey) -> bool:
        return key.is_active

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {"subtitle": "Create keys with `manage.py create_api_key USERNAME`; the key is shown only then.",
                         **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)
