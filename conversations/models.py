"""Threads, messages, runs and actions (tool calls). Run steps are derived from these.

Models guard their own row only: allowed transitions, terminal states. Anything that
spans models, publishes events or calls a backend lives in the services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.defaults import auto_default
from kernel.ids import new_call_id, new_message_id, new_run_id, new_thread_id


def text_part(value: str) -> dict:
    """A stored text content part of a message."""
    return {"type": "text", "text": {"value": value, "annotations": []}}


class Thread(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_thread_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="threads")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=200, blank=True, default="", help_text="Entities extension: shown in the chat UI.")
    tool_resources = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "created_at", "id"], name="thread_owner_created"),
            models.Index(fields=["owner", "updated_at"], name="thread_owner_updated"),
        ]

    def __str__(self) -> str:
        return self.title or self.id


class ActiveMessageManager(models.Manager):
    """``Message.objects``: the messages on each thread's active branch. Edits and regenerates
    keep the versions they replace (``superseded``); every reader that goes through the default
    manager — the API, the model's context, search — sees only the active branch."""

    def get_queryset(self):
        return super().get_queryset().filter(superseded=False)


class Message(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        INCOMPLETE = "incomplete"
        COMPLETED = "completed"

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    incomplete_details = models.JSONField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    incomplete_at = models.DateTimeField(null=True, blank=True)
    assistant_id = models.CharField(max_length=40, null=True, blank=True)
    run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    attachments = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # A thinking model's reasoning before this reply (not part of its content; docs/responses.md).
    reasoning = models.TextField(blank=True, default="")
    # Branching (docs/ui.md): the message this one follows on its branch (the writers set it
    # with conversations.branches: the active leaf, itself for a first message;
    # rows bulk-created in order leave it empty and follow the one before them), and whether
    # it is off the active branch (an earlier version of an edit or a regenerate).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    superseded = models.BooleanField(default=False)

    objects = ActiveMessageManager()
    all_objects = models.Manager()  # every version, for the chat history and version switching

    class Meta:
        base_manager_name = "all_objects"
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at", "id"], name="msg_thread_created"),
            models.Index(fields=["owner", "created_at"], name="msg_owner_created"),
        ]

    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(p.get("text", {}).get("value", "") for p in self.content if p.get("type") == "text")

    def __str__(self) -> str:
        return f"{self.role}: {self.text()[:60]}"


TERMINAL_RUN_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
ACTIVE_RUN_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        IN_PROGRESS = "in_progress"
        REQUIRES_ACTION = "requires_action"
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"
        FAILED = "failed"
        COMPLETED = "completed"
        INCOMPLETE = "incomplete"
        EXPIRED = "expired"

    # The Assistants v2 lifecycle; ``conversations.engine.state`` is the only writer of ``status``
    # and refuses any other move.
    TRANSITIONS = {
        "queued": frozenset({"in_progress", "cancelling", "failed", "expired"}),
        "in_progress": frozenset({"requires_action", "cancelling", "completed", "incomplete", "failed", "expired"}),
        "requires_action": frozenset({"queued", "cancelled", "failed", "expired"}),
        "cancelling": frozenset({"cancelled", "completed", "incomplete", "failed", "expired"}),
    }

    id = models.CharField(primary_key=True, max_length=40, default=new_run_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs")
    assistant_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    required_action = models.JSONField(null=True, blank=True)
    last_error = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=256)
    instructions = models.TextField(blank=True, default="")
    additional_instructions = models.TextField(null=True, blank=True)
    tools = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    usage = models.JSONField(null=True, blank=True)
    incomplete_details = models.JSONField(null=True, blank=True)
    max_prompt_tokens = models.IntegerField(null=True, blank=True)
    max_completion_tokens = models.IntegerField(null=True, blank=True)
    truncation_strategy = models.JSONField(default=dict, blank=True)
    tool_choice = models.JSONField(default=auto_default, blank=True)
    parallel_tool_calls = models.BooleanField(default=True)
    response_format = models.JSONField(default=auto_default, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    reasoning_effort = models.CharField(max_length=16, null=True, blank=True)
    # The run's include[] (createRun's query): its file_search step events carry the results' content.
    include = models.JSONField(default=list, blank=True)
    # The Responses API's max_tool_calls: how many built-in / server-side tool calls the run may run.
    max_tool_calls = models.IntegerField(null=True, blank=True)
    # Engine bookkeeping (not part of the public object).
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    tool_rounds = models.IntegerField(default=0)
    event_seq = models.IntegerField(default=0, help_text="Last stream event sequence number of a finished segment.")
    # Branching (docs/ui.md): the active message this run answers, set on create
    # (conversations.branches).
    parent_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["thread", "created_at", "id"], name="run_thread_created"),
            models.Index(fields=["owner", "status"], name="run_owner_status"),
        ]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES

    def __str__(self) -> str:
        return f"{self.id} [{self.status}]"


class Action(models.Model):
    """One tool call made by the model during a run (server- or client-side)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"
        FAILED = "failed"
        EXPIRED = "expired"

    class ToolType(models.TextChoices):
        FUNCTION = "function"
        CODE_INTERPRETER = "code_interpreter"
        FILE_SEARCH = "file_search"

    id = models.CharField(primary_key=True, max_length=64, default=new_call_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="actions")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="actions")
    step_id = models.CharField(max_length=40, db_index=True)
    index = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    tool_type = models.CharField(max_length=32, choices=ToolType.choices, default=ToolType.FUNCTION)
    function_name = models.CharField(max_length=256, blank=True, default="")
    arguments = models.TextField(blank=True, default="")
    client_side = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    output = models.TextField(null=True, blank=True)
    outputs = models.JSONField(null=True, blank=True, help_text="code_interpreter outputs (logs, images); file_search: the step's file_search object")
    error = models.TextField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The reasoning before the model turn's calls, on the step's first call only.
    reasoning = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at", "index"]
        indexes = [models.Index(fields=["run", "created_at"], name="action_run_created")]

    def __str__(self) -> str:
        return f"{self.id} {self.function_name or self.tool_type} [{self.status}]"
