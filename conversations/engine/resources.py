"""The ids a run's built-in tool gets from ``tool_resources``: the assistant's, then the thread's."""

from __future__ import annotations

from assistants.models import Assistant
from conversations.models import Run, Thread


def run_resource_ids(run: Run, tool: str, key: str) -> list[str]:
    """``tool_resources[tool][key]`` of the run's assistant, then of its thread, in order (may repeat)."""
    sources = []
    if run.assistant_id:
        assistant = Assistant.objects.filter(pk=run.assistant_id).only("tool_resources").first()
        sources.append(assistant.tool_resources if assistant else None)
    thread = Thread.objects.filter(pk=run.thread_id).only("tool_resources").first()
    sources.append(thread.tool_resources if thread else None)
    return [i for resources in sources for i in (((resources or {}).get(tool) or {}).get(key) or [])]
