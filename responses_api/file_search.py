"""``file_search`` on the Responses API: the tool, its ``file_search_call`` items, citations.

The run keeps the tool as ``{"type": "file_search", "vector_store_ids": [...], "file_search":
{max_num_results, ranking_options, filters}}``: the engine searches those stores (and the
thread's) with those options, exactly as for an Assistants run. A call is an Action of tool
type ``file_search``; its ``outputs`` hold the step's ``results`` with the chunk text, shown
here only when ``include`` asks for ``file_search_call.results``. The reply's citations are
stored in the Assistants shape (``start_index``/``end_index``, ``file_citation.file_id``)
and shown in the Responses shape (``file_id``, ``filename``, ``index``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from conversations.models import Action
from kernel.validation import fields as f

RESULTS = "file_search_call.results"
MARKER_NAME = re.compile(r"†([^】]+)】")  # the file's name in a citation marker 【0†notes.md】
RANKERS = ("auto", "default-2024-11-15", "default_2024_08_21", "none")


def tool_from_request(tool: dict, path: str) -> dict:
    """A request's ``file_search`` tool → the run's tool entry (stores are checked by the service)."""
    from retrieval.filters import validate_filter

    f.obj(tool, path, allowed=("type", "vector_store_ids", "max_num_results", "ranking_options", "filters"),
          required=("vector_store_ids",))
    ids = f.array(tool["vector_store_ids"], f.join(path, "vector_store_ids"), min_items=1, max_items=16)
    store_ids = [f.string(v, f.join(f.join(path, "vector_store_ids"), i), non_empty=True) for i, v in enumerate(ids)]
    options: dict = {}
    if tool.get("max_num_results") is not None:
        options["max_num_results"] = f.integer(tool["max_num_results"], f.join(path, "max_num_results"),
                                               minimum=1, maximum=50)
    ranking = tool.get("ranking_options")
    if ranking is not None:
        ranking_path = f.join(path, "ranking_options")
        f.obj(ranking, ranking_path, allowed=("ranker", "score_threshold", "hybrid_search"))
        cleaned = {"ranker": f.string(ranking.get("ranker"), f.join(ranking_path, "ranker"), nullable=True,
                                      choices=RANKERS) or "auto",
                   "score_threshold": f.number(ranking.get("score_threshold"), f.join(ranking_path, "score_threshold"),
                                               minimum=0, maximum=1) or 0.0}
        if ranking.get("hybrid_search") is not None:
            hybrid_path = f.join(ranking_path, "hybrid_search")
            f.obj(ranking["hybrid_search"], hybrid_path, allowed=("embedding_weight", "text_weight"),
                  required=("embedding_weight", "text_weight"))
            cleaned["hybrid_search"] = {k: f.number(ranking["hybrid_search"][k], f.join(hybrid_path, k), minimum=0)
                                        for k in ("embedding_weight", "text_weight")}
        options["ranking_options"] = cleaned
    if tool.get("filters") is not None:
        options["filters"] = validate_filter(tool["filters"], f.join(path, "filters"))
    return {"type": "file_search", "vector_store_ids": store_ids, "file_search": options}


def public_tool(tool: dict) -> dict:
    """The run's tool entry as the Responses API shows it."""
    options = tool.get("file_search") or {}
    return {"type": "file_search", "vector_store_ids": list(tool.get("vector_store_ids") or []),
            "max_num_results": options.get("max_num_results"), "filters": options.get("filters"),
            "ranking_options": options.get("ranking_options") or {"ranker": "auto", "score_threshold": 0.0}}


def queries_of(arguments: str | None) -> list[str]:
    """The model's search query (the search function takes one)."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return [arguments] if arguments else []
    query = parsed.get("query") if isinstance(parsed, dict) else None
    return [query] if isinstance(query, str) and query else []


def results_of(step: dict | None) -> list[dict]:
    """A search step's ``results`` (Assistants shape, with content) in the Responses shape."""
    return [{"file_id": r.get("file_id"), "filename": r.get("file_name"), "score": r.get("score"),
             "text": "".join((c or {}).get("text", "") for c in r.get("content") or []),
             "attributes": r.get("attributes") or {}}
            for r in (step or {}).get("results") or []]


def call_item(*, call_id: str, queries: list[str], status: str, results: list[dict] | None) -> dict:
    return {"id": "fs_" + call_id.split("_", 1)[-1], "type": "file_search_call", "status": status, "queries": queries,
            "results": results}


def call_item_of(action: Action, *, with_results: bool) -> dict:
    """The stored call as a ``file_search_call`` item (``results`` null unless asked for)."""
    status = {Action.Status.FAILED: "failed", Action.Status.PENDING: "in_progress"}.get(action.status, "completed")
    return call_item(call_id=action.id, queries=queries_of(action.arguments), status=status,
                     results=results_of(action.outputs) if with_results else None)


def citation(annotation: dict, filenames: dict[str, str]) -> dict | None:
    """An Assistants ``file_citation`` annotation in the Responses shape (None for other kinds).
    ``index`` is where the citation stands in the text (its marker's start)."""
    if annotation.get("type") != "file_citation":
        return None
    file_id = (annotation.get("file_citation") or {}).get("file_id") or ""
    marker = MARKER_NAME.search(annotation.get("text") or "")
    filename = filenames.get(file_id) or (marker.group(1) if marker else "")
    return {"type": "file_citation", "file_id": file_id, "filename": filename,
            "index": annotation.get("start_index", 0)}


def citations(annotations: list[dict] | None, filenames: dict[str, str] | None = None) -> list[dict]:
    """``annotations`` in the Responses shape; without ``filenames`` they are read from the Files."""
    cited = [a for a in annotations or [] if a.get("type") == "file_citation"]
    if not cited:
        return []
    if filenames is None:
        from files.models import File

        ids = {(a.get("file_citation") or {}).get("file_id") for a in cited}
        filenames = dict(File.objects.filter(pk__in=ids).values_list("id", "filename"))
    return [c for c in (citation(a, filenames) for a in cited) if c is not None]


def finished_searches(data: Any) -> list[int]:
    """The indexes of the file_search calls a ``thread.run.step.delta`` reports as finished."""
    calls = (((data or {}).get("delta") or {}).get("step_details") or {}).get("tool_calls") or []
    return [c.get("index", 0) for c in calls if c.get("type") == "file_search" and "results" in (c.get("file_search") or {})]


def with_queries(data: dict) -> dict:
    """The step delta ``data`` with each finished search's ``queries`` (the engine's deltas carry
    no arguments for a search, and the Responses item shows them). Synchronous ORM code."""
    indexes = finished_searches(data)
    rows = dict(Action.objects.filter(step_id=data.get("id"), index__in=indexes).values_list("index", "arguments"))
    data = copy.deepcopy(data)
    for call in data["delta"]["step_details"]["tool_calls"]:
        if call.get("type") == "file_search" and call.get("index", 0) in rows:
            call["file_search"]["queries"] = queries_of(rows[call.get("index", 0)])
    return data
