"""A response: one segment of a run, as the Responses API names it.

The run (conversations.Run) is the engine's: status, usage, tools, model and leases live
there. This row only holds what the Responses API adds: its own id, where its part of the
run's event stream starts, the chain it belongs to and the request's extras that a run has
no field for. Usually a response is a whole run; a response that answers the function
calls of the previous one continues that run (``run_submit_tool_outputs``), so one run
then carries several responses, one per segment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conversations.models import Run
from kernel.ids import new_id


def new_response_id() -> str:
    return new_id("resp")


class Response(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_response_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="responses")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="responses")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    start_seq = models.IntegerField(default=0, help_text="The run's event sequence number this response follows.")
    in_conversation = models.BooleanField(default=False, help_text="Created with `conversation` (shown back).")
    previous_response_id = models.CharField(max_length=40, null=True, blank=True)
    background = models.BooleanField(default=False)
    store = models.BooleanField(default=True)
    input_items = models.JSONField(default=list, blank=True, help_text="The input, as input_items lists it.")
    extras = models.JSONField(default=dict, blank=True, help_text="Request fields shown back as given (tools, text, …).")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="resp_owner_created")]

    def __str__(self) -> str:
        return self.id
