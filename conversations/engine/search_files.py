"""The ``file_search`` tool in a run: which stores it searches, running a call, citations.

The stores are the assistant's and the thread's ``tool_resources.file_search.vector_store_ids``.
A model call of the search function is a server-side Action of tool type ``file_search``;
its ``outputs`` keep the run step's ``file_search`` object (``ranking_options`` and
``results``, always with the chunk text: the presenter shows the text only when
``include[]`` asks for it, and the reply's citations need it).
"""

from __future__ import annotations

from types import SimpleNamespace

from conversations.engine.resources import run_resource_ids
from conversations.models import Action, Message, Run

FILE_SEARCH = "file_search"


def file_search_tool(run_tools: list[dict]) -> dict | None:
    """The run's ``file_search`` tool entry, or None when the run has none."""
    return next((t for t in run_tools or [] if t.get("type") == FILE_SEARCH), None)


def run_store_ids(run: Run) -> list[str]:
    """The vector stores the run searches, in order, without repeats: the tool's own (a
    Responses ``file_search`` tool names them), then the assistant's and the thread's."""
    named = (file_search_tool(run.tools) or {}).get("vector_store_ids") or []
    return list(dict.fromkeys(i for i in [*named, *run_resource_ids(run, FILE_SEARCH, "vector_store_ids")] if i))


def offered(run: Run) -> bool:
    """True when the model is offered the search function: the tool and at least one store."""
    return file_search_tool(run.tools) is not None and bool(run_store_ids(run))


def search(run: Run, arguments: str):
    """Run one call of the model (synchronous ORM and embedding work: call it through ``db``)."""
    from retrieval.tool import run_file_search

    tool = file_search_tool(run.tools) or {}
    return run_file_search(user=run.owner, vector_store_ids=run_store_ids(run), arguments=arguments,
                           options=tool.get(FILE_SEARCH) or {}, include_content=True)


async def execute(action: Action, run: Run) -> None:
    """Fill ``action`` with the outcome of its search, off the event loop."""
    from conversations.engine.db import db

    outcome = await db(search, run, action.arguments)
    action.output, action.outputs = outcome.output, outcome.step
    action.status, action.error = Action.Status.COMPLETED, None


def citations(message: Message, text: str) -> list[dict]:
    """``file_citation`` annotations of the reply ``text``, from the run's latest search before it."""
    if not message.run_id or not text:
        return []
    action = (Action.objects.filter(run_id=message.run_id, tool_type=FILE_SEARCH, created_at__lte=message.created_at)
              .order_by("-created_at", "-index").first())
    if action is None:
        return []
    from retrieval.tool import annotate

    hits = [SimpleNamespace(file_id=r.get("file_id"), filename=r.get("file_name"),
                            text="".join((c or {}).get("text", "") for c in r.get("content") or []))
            for r in (action.outputs or {}).get("results") or []]
    return annotate(text, hits)


def with_citations(message: Message, content: list[dict], text: str) -> list[dict]:
    """``content`` with the reply's ``file_citation`` annotations added to its text part."""
    found = citations(message, text)
    if not found:
        return content
    for part in content:
        if part.get("type") == "text":
            annotations = list(part["text"].get("annotations") or []) + found
            part["text"]["annotations"] = sorted(annotations, key=lambda a: a["start_index"])
    return content
