"""The `file_search` tool for the run engine: what to offer the model, running a call, citations.

The engine (conversations/engine) needs three calls, all synchronous (run them in its DB
thread pool):

- ``FILE_SEARCH_FUNCTION``: the chat-completions function offered to the model when the
  run has the ``file_search`` tool and at least one vector store;
- ``run_file_search(user=…, vector_store_ids=…, arguments=…, options=…)``: one model call →
  ``FileSearchOutcome`` with the text for the model (numbered sources) and the run step's
  ``file_search`` object (``ranking_options``, ``results`` with file_id, file_name, score
  and, when asked for with include[], content);
- ``annotate(text, results)``: ``file_citation`` annotations for the reply, from the
  markers the model wrote (【n†name】 or [n]) and, when it wrote none, attributed to the
  sources whose words the reply repeats (small local models rarely cite).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from kernel.errors import InvalidRequest
from retrieval.models import VectorStore
from retrieval.search.service import Hit, search_stores

FUNCTION_NAME = "file_search"
FILE_SEARCH_FUNCTION = {
    "type": "function",
    "function": {
        "name": FUNCTION_NAME,
        "description": ("Search the files the user gave you for passages relevant to a question. Cite a passage "
                        "you use with its marker, e.g. 【0†notes.md】."),
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to look for, in a few words."}},
            "required": ["query"],
        },
    },
}
DEFAULT_MAX_RESULTS = 20  # OpenAI's default for file_search in runs
PASSAGE_CHARS = 2000


@dataclass
class FileSearchOutcome:
    output: str  # for the model
    step: dict  # the run step's tool call `file_search` object
    results: list[Hit] = field(default_factory=list)


def run_file_search(*, user, vector_store_ids: list[str], arguments: str, options: dict | None = None,
                    include_content: bool = False) -> FileSearchOutcome:
    """Run one `file_search` call of the model over the user's stores ``vector_store_ids``."""
    options = options or {}
    ranking = options.get("ranking_options") or {}
    ranker = ranking.get("ranker") or "auto"
    threshold = float(ranking.get("score_threshold") or 0.0)
    limit = int(options.get("max_num_results") or DEFAULT_MAX_RESULTS)
    hybrid = ranking.get("hybrid_search") or {}
    weights = ((float(hybrid["embedding_weight"]), float(hybrid["text_weight"]))
               if {"embedding_weight", "text_weight"} <= set(hybrid) else None)
    try:
        parsed = json.loads(arguments or "{}")
        query = parsed.get("query") if isinstance(parsed, dict) else None
    except ValueError:
        query = arguments  # a model that sent the bare query
    step = {"ranking_options": {"ranker": ranker, "score_threshold": threshold}, "results": []}
    if not isinstance(query, str) or not query.strip():
        return FileSearchOutcome(output=json.dumps({"error": "file_search needs a non-empty 'query' string"}),
                                 step=step)
    # An expired store is not searched (the API refuses to search it too); the others still are.
    stores = list(VectorStore.objects.filter(owner=user, pk__in=vector_store_ids)
                  .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())))
    try:
        hits = search_stores(stores, queries=[query], filters=options.get("filters"), max_num_results=limit,
                             ranker=ranker, score_threshold=threshold, weights=weights)
    except InvalidRequest as refused:  # e.g. stores embedded with another model: the model is told, the run goes on
        return FileSearchOutcome(output=json.dumps({"error": refused.message}), step=step)
    step["results"] = [_result(h, include_content) for h in hits]
    return FileSearchOutcome(output=format_for_model(hits), step=step, results=hits)


def _result(hit: Hit, include_content: bool) -> dict:
    result = {"file_id": hit.file_id, "file_name": hit.filename, "score": hit.score, "attributes": hit.attributes or {}}
    if include_content:
        result["content"] = [{"type": "text", "text": hit.text}]
    return result


def format_for_model(hits: list[Hit]) -> str:
    """Numbered sources with their citation markers."""
    if not hits:
        return "No passages in the files match this query."
    parts = [f"【{i}†{h.filename}】 (score {h.score:.2f})\n{h.text[:PASSAGE_CHARS]}" for i, h in enumerate(hits)]
    return "Passages from the user's files. Cite the ones you use with their marker.\n\n" + "\n\n".join(parts)


MARKER = re.compile(r"【(\d+)(?::\d+)?†[^】]*】|\[(\d+)\]")
WORD = re.compile(r"[A-Za-z0-9]{4,}")
MIN_SHARED_WORDS = 3


def annotate(text: str, hits: list[Hit]) -> list[dict]:
    """`file_citation` annotations for ``text`` given the results the model saw (in order)."""
    annotations = []
    for match in MARKER.finditer(text):
        index = int(match.group(1) or match.group(2))
        if 0 <= index < len(hits):
            annotations.append(_citation(match.group(0), match.start(), match.end(), hits[index].file_id))
    if annotations or not hits:
        return annotations
    # No markers: attribute each sentence to the source it repeats most words of.
    sources = [(h, {w.lower() for w in WORD.findall(h.text)}) for h in hits]
    cited: set[str] = set()
    for sentence in re.finditer(r"[^.!?\n]+[.!?]?", text):
        words = {w.lower() for w in WORD.findall(sentence.group(0))}
        best, shared = None, 0
        for hit, vocabulary in sources:
            overlap = len(words & vocabulary)
            if overlap > shared:
                best, shared = hit, overlap
        if best is not None and shared >= MIN_SHARED_WORDS and best.file_id not in cited:
            cited.add(best.file_id)
            start = sentence.start() + (len(sentence.group(0)) - len(sentence.group(0).lstrip()))
            end = sentence.end()
            annotations.append(_citation(text[start:end], start, end, best.file_id))
    return annotations


def _citation(quoted: str, start: int, end: int, file_id: str) -> dict:
    return {"type": "file_citation", "text": quoted, "start_index": start, "end_index": end,
            "file_citation": {"file_id": file_id}}
