"""Assistants (instructions + model + tools) and the API keys SDK clients use."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.defaults import auto_default
from kernel.ids import new_assistant_id


class Assistant(models.Model):
    """An Assistants-API v2 assistant; every field of the public object is stored."""

    id = models.CharField(primary_key=True, max_length=40, default=new_assistant_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistants")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    name = models.CharField(max_length=256, null=True, blank=True)
    description = models.CharField(max_length=512, null=True, blank=True)
    model = models.CharField(max_length=256)
    instructions = models.TextField(null=True, blank=True)
    tools = models.JSONField(default=list, blank=True)
    tool_resources = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    response_format = models.JSONField(default=auto_default, blank=True)
    reasoning_effort = models.CharField(max_length=16, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at", "id"], name="asst_owner_created")]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.model})"


class ApiKey(models.Model):
    """A per-user key for SDK clients. Only a SHA-256 digest of the key is stored."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True, help_text="Visible start of the key, for recognising it.")
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.prefix}… ({self.name}, {state})"
