"""The Responses stream: one more translation of the engine's run events.

The engine publishes Assistants-shaped events (``thread.message.delta``,
``thread.run.step.delta``, ``thread.run.requires_action``, …). ``ResponseTranslator``
turns the events of one response's segment into Responses stream events with their own
``sequence_number`` (0, 1, 2, …). The translation is a pure function of the run's event
log, so replaying the log from the response's start gives the same numbers again: that
is how ``GET /v1/responses/{id}?stream=true&starting_after=N`` resumes.

Events from a stored snapshot (the live log is gone) carry finished messages only; the
translator then announces each item, sends its whole text as one delta and finishes it,
so a client still sees a well-formed stream.

A thinking model's reasoning (``thread.reasoning.delta``) becomes a ``reasoning`` item
before the message or calls it precedes: ``response.output_item.added``,
``response.content_part.added``, ``response.reasoning_text.delta``…, then, at the next event,
``response.reasoning_text.done``, ``response.content_part.done``, ``response.output_item.done``.
"""

from __future__ import annotations

import copy
import time

from conversations.engine.events import REASONING_DELTA
from responses_api.file_search import call_item as file_search_call_item
from responses_api.file_search import citations
from responses_api.file_search import results_of as search_results
from responses_api.presenters import (
    RESPONSE_STATUS, SERVER_LABEL, error_object_from, function_call_item, output_text_part, reasoning_item,
    reasoning_text_part, swap_prefix, usage_object,
)

TERMINAL_EVENT = {
    "completed": "response.completed", "requires_action": "response.completed", "incomplete": "response.incomplete",
    "failed": "response.failed", "expired": "response.failed",
    # No cancelled event exists in OpenAI's spec; Entities names it (the SDK passes unknown events through).
    "cancelled": "response.cancelled",
}


class ResponseTranslator:
    """Feed run events in order; each call returns the Responses events they become."""

    def __init__(self, base: dict, *, server_functions: frozenset[str] = frozenset(),
                 search_results: bool = False) -> None:
        self.response = copy.deepcopy(base)
        self.search_results = search_results  # include=["file_search_call.results"]
        self.response["output"] = []
        self.server_functions = server_functions
        self.seq = -1
        self.items: list[dict] = []  # by output_index
        self.open_text: dict[str, dict] = {}  # message id -> {"index", "parts"}
        self.calls: dict[tuple[str, int], dict] = {}  # (step id, call index) -> {"index", "kind", …}
        self.reasoning: dict | None = None  # the open reasoning item: {"id", "index", "parts"}
        self.filenames: dict[str, str] = {}  # file id -> name, from the searches seen (for citations)
        self.started = False
        self.in_progress = False
        self.ended = False

    # -- helpers ------------------------------------------------------------------------
    def _event(self, kind: str, **fields) -> dict:
        self.seq += 1
        return {"type": kind, "sequence_number": self.seq, **fields}

    def _snapshot(self, status: str) -> dict:
        snap = copy.deepcopy(self.response)
        snap["status"] = status
        return snap

    def start(self) -> list[dict]:
        """``response.created`` (and ``response.queued`` for a background response not yet running)."""
        self.started = True
        status = "queued" if self.response.get("background") else "in_progress"
        events = [self._event("response.created", response=self._snapshot(status))]
        if status == "queued":
            events.append(self._event("response.queued", response=self._snapshot("queued")))
        return events

    # -- the translation --------------------------------------------------------------
    def feed(self, name: str, data) -> list[dict]:
        if self.ended:
            return []
        out: list[dict] = [] if self.started else self.start()
        if name == REASONING_DELTA:
            return out + self._reasoning_delta(data)
        if self.reasoning is not None and name != "thread.run.in_progress":
            # What follows the reasoning ends it; a run event here means the run stopped in it.
            stopped = name.startswith("thread.run.") and not name.startswith("thread.run.step.")
            out += self._close_reasoning("incomplete" if stopped else "completed")
        if name == "thread.run.in_progress":
            if not self.in_progress:
                self.in_progress = True
                out.append(self._event("response.in_progress", response=self._snapshot("in_progress")))
        elif name == "thread.message.created":
            out += self._open_message(data["id"])
        elif name == "thread.message.delta":
            out += self._text_delta(data)
        elif name in ("thread.message.completed", "thread.message.incomplete"):
            out += self._close_message(data)
        elif name == "thread.run.step.delta":
            for call in ((data.get("delta") or {}).get("step_details") or {}).get("tool_calls") or []:
                out += self._tool_delta(data["id"], call)
        elif name.startswith("thread.run.") and name.removeprefix("thread.run.") in TERMINAL_EVENT:
            out += self._end(name.removeprefix("thread.run."), data)
        return out

    def _open_message(self, message_id: str) -> list[dict]:
        if message_id in self.open_text or any(i.get("id") == message_id for i in self.items):
            return []
        index = len(self.items)
        item = {"id": message_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        self.items.append(item)
        self.open_text[message_id] = {"index": index, "parts": []}
        return [
            self._event("response.output_item.added", output_index=index, item=copy.deepcopy(item)),
            self._event("response.content_part.added", item_id=message_id, output_index=index, content_index=0,
                        part=output_text_part("")),
        ]

    def _text_delta(self, data: dict) -> list[dict]:
        message_id = data["id"]
        out = self._open_message(message_id) if message_id not in self.open_text else []
        state = self.open_text[message_id]
        for part in (data.get("delta") or {}).get("content") or []:
            text = (part.get("text") or {}).get("value") or ""
            if text:
                state["parts"].append(text)
                out.append(self._event("response.output_text.delta", item_id=message_id, output_index=state["index"],
                                       content_index=0, delta=text, logprobs=[]))
        return out

    def _close_message(self, message: dict) -> list[dict]:
        message_id = message["id"]
        if message_id not in self.open_text:
            if any(i.get("id") == message_id for i in self.items):
                return []
            out = self._open_message(message_id)
            whole = "".join(p.get("text", {}).get("value", "") for p in message.get("content") or []
                            if p.get("type") == "text")
            out += self._text_delta({"id": message_id, "delta": {"content": [{"text": {"value": whole}}]}})
        else:
            out = []
        state = self.open_text.pop(message_id)
        text = "".join(state["parts"])
        index = state["index"]
        annotations = citations([a for p in message.get("content") or [] if p.get("type") == "text"
                                 for a in (p.get("text") or {}).get("annotations") or []], self.filenames)
        part = output_text_part(text, annotations)
        status = "incomplete" if message.get("status") == "incomplete" else "completed"
        self.items[index] = {"id": message_id, "type": "message", "status": status, "role": "assistant",
                             "content": [part]}
        out += [self._event("response.output_text.annotation.added", item_id=message_id, output_index=index,
                            content_index=0, annotation_index=i, annotation=a) for i, a in enumerate(annotations)]
        return out + [
            self._event("response.output_text.done", item_id=message_id, output_index=index, content_index=0,
                        text=text, logprobs=[]),
            self._event("response.content_part.done", item_id=message_id, output_index=index, content_index=0,
                        part=copy.deepcopy(part)),
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(self.items[index])),
        ]

    # -- reasoning ------------------------------------------------------------------------
    def _reasoning_delta(self, data: dict) -> list[dict]:
        text = (data.get("delta") or {}).get("text") or ""
        out: list[dict] = []
        if self.reasoning is not None and self.reasoning["id"] != data["id"]:
            out += self._close_reasoning("completed")
        if self.reasoning is None:
            index = len(self.items)
            self.reasoning = {"id": data["id"], "index": index, "parts": []}
            item = dict(reasoning_item(data["id"], "", "in_progress"), content=[])
            self.items.append(item)
            out += [
                self._event("response.output_item.added", output_index=index, item=copy.deepcopy(item)),
                self._event("response.content_part.added", item_id=data["id"], output_index=index, content_index=0,
                            part=reasoning_text_part("")),
            ]
        if text:
            self.reasoning["parts"].append(text)
            out.append(self._event("response.reasoning_text.delta", item_id=data["id"],
                                   output_index=self.reasoning["index"], content_index=0, delta=text))
        return out

    def _close_reasoning(self, status: str) -> list[dict]:
        state, self.reasoning = self.reasoning, None
        text, index, item_id = "".join(state["parts"]), state["index"], state["id"]
        self.items[index] = reasoning_item(item_id, text, status)
        return [
            self._event("response.reasoning_text.done", item_id=item_id, output_index=index, content_index=0,
                        text=text),
            self._event("response.content_part.done", item_id=item_id, output_index=index, content_index=0,
                        part=reasoning_text_part(text)),
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(self.items[index])),
        ]

    # -- tool calls -----------------------------------------------------------------------
    def _tool_delta(self, step_id: str, call: dict) -> list[dict]:
        key = (step_id, call.get("index", 0))
        state = self.calls.get(key)
        if state is None:
            if not call.get("id"):
                return []
            return self._open_call(key, call)
        if state["done"]:
            return []
        if call.get("type") == "code_interpreter":
            return self._finish_code(state, call.get("code_interpreter") or {})
        if call.get("type") == "file_search":
            return self._finish_search(state, call.get("file_search") or {})
        fn = call.get("function") or {}
        out = []
        if fn.get("arguments"):
            out += self._arguments_delta(state, fn["arguments"])
        if fn.get("output") is not None and state["kind"] == "mcp_call":
            out += self._finish_mcp(state, fn["output"])
        return out

    def _open_call(self, key: tuple[str, int], call: dict) -> list[dict]:
        index = len(self.items)
        call_id = call["id"]
        if call.get("type") == "code_interpreter":
            item = {"id": swap_prefix(call_id, "ci"), "type": "code_interpreter_call", "status": "in_progress",
                    "code": "", "container_id": "entities-sandbox", "outputs": []}
            kind = "code_interpreter_call"
        elif call.get("type") == "file_search":
            item = file_search_call_item(call_id=call_id, queries=[], status="in_progress", results=None)
            kind = "file_search_call"
        else:
            name = (call.get("function") or {}).get("name") or ""
            if name in self.server_functions:
                kind = "mcp_call"
                item = {"id": swap_prefix(call_id, "mcp"), "type": "mcp_call", "status": "in_progress",
                        "server_label": SERVER_LABEL, "name": name, "arguments": "", "output": None, "error": None}
            else:
                kind = "function_call"
                item = function_call_item(call_id=call_id, name=name, arguments="", status="in_progress")
        state = self.calls[key] = {"index": index, "kind": kind, "id": item["id"], "call_id": call_id,
                                   "fragments": [], "done": False}
        self.items.append(item)
        out = [self._event("response.output_item.added", output_index=index, item=copy.deepcopy(item))]
        if kind == "code_interpreter_call":
            out.append(self._event("response.code_interpreter_call.in_progress", item_id=item["id"],
                                   output_index=index))
        elif kind == "file_search_call":
            out += [self._event(f"response.file_search_call.{phase}", item_id=item["id"], output_index=index)
                    for phase in ("in_progress", "searching")]
        arguments = (call.get("function") or {}).get("arguments") or ""
        if arguments:
            out += self._arguments_delta(state, arguments)
        return out

    def _arguments_delta(self, state: dict, fragment: str) -> list[dict]:
        state["fragments"].append(fragment)
        self.items[state["index"]]["arguments"] = "".join(state["fragments"])
        kind = "response.mcp_call_arguments.delta" if state["kind"] == "mcp_call" else \
            "response.function_call_arguments.delta"
        return [self._event(kind, item_id=state["id"], output_index=state["index"], delta=fragment)]

    def _finish_mcp(self, state: dict, output: str) -> list[dict]:
        state["done"] = True
        item = self.items[state["index"]]
        item.update(status="completed", output=output)
        index, item_id = state["index"], state["id"]
        return [
            self._event("response.mcp_call_arguments.done", item_id=item_id, output_index=index,
                        arguments=item["arguments"]),
            self._event("response.mcp_call.completed", item_id=item_id, output_index=index),
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item)),
        ]

    def _finish_code(self, state: dict, details: dict) -> list[dict]:
        state["done"] = True
        item = self.items[state["index"]]
        code = details.get("input") or ""
        outputs = [{"type": "logs", "logs": o.get("logs", "")} for o in details.get("outputs") or []
                   if o.get("type") == "logs"]
        item.update(status="completed", code=code, outputs=outputs)
        index, item_id = state["index"], state["id"]
        return [
            self._event("response.code_interpreter_call_code.delta", item_id=item_id, output_index=index, delta=code),
            self._event("response.code_interpreter_call_code.done", item_id=item_id, output_index=index, code=code),
            self._event("response.code_interpreter_call.interpreting", item_id=item_id, output_index=index),
            self._event("response.code_interpreter_call.completed", item_id=item_id, output_index=index),
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item)),
        ]

    def _finish_search(self, state: dict, details: dict) -> list[dict]:
        if "results" not in details:
            return []
        state["done"] = True
        item = self.items[state["index"]]
        results = search_results(details)
        self.filenames.update((r["file_id"], r["filename"]) for r in results)
        item.update(status="completed", queries=details.get("queries") or [],
                    results=results if self.search_results else None)
        index, item_id = state["index"], state["id"]
        return [self._event("response.file_search_call.completed", item_id=item_id, output_index=index),
                self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item))]

    def _finish_function(self, state: dict, name: str, arguments: str) -> list[dict]:
        state["done"] = True
        item = self.items[state["index"]]
        item.update(status="completed", arguments=arguments, name=name or item.get("name", ""))
        index = state["index"]
        return [
            self._event("response.function_call_arguments.done", item_id=state["id"], output_index=index,
                        name=item["name"], arguments=arguments),
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item)),
        ]

    # -- the end --------------------------------------------------------------------------
    def _end(self, status: str, run: dict) -> list[dict]:
        out: list[dict] = []
        if status == "requires_action":
            calls = ((run.get("required_action") or {}).get("submit_tool_outputs") or {}).get("tool_calls") or []
            for call in calls:
                fn = call.get("function") or {}
                state = next((s for s in self.calls.values() if s["call_id"] == call["id"]), None)
                if state is None:  # a snapshot: the call was never announced here
                    key = ("snapshot", len(self.calls))
                    out += self._open_call(key, {"id": call["id"], "type": "function",
                                                 "function": {"name": fn.get("name"), "arguments": ""}})
                    state = self.calls[key]
                    if state["kind"] != "function_call":
                        continue
                if not state["done"]:
                    out += self._finish_function(state, fn.get("name") or "", fn.get("arguments") or "")
        # Whatever is still open ended with the run: mark it incomplete, as its stored row is.
        for message_id in list(self.open_text):
            out += self._close_message({"id": message_id, "status": "incomplete"})
        for state in self.calls.values():
            if not state["done"]:
                state["done"] = True
                item = self.items[state["index"]]
                item["status"] = "incomplete"
                out.append(self._event("response.output_item.done", output_index=state["index"],
                                       item=copy.deepcopy(item)))
        final = RESPONSE_STATUS.get(status, "failed")
        self.response.update(
            status=final, output=copy.deepcopy(self.items), usage=usage_object(run.get("usage")),
            error=error_object_from(status, run.get("last_error")),
            incomplete_details={"reason": "max_output_tokens"} if final == "incomplete" else None,
            completed_at=(run.get("completed_at") or int(time.time())) if final == "completed" else None,
        )
        self.ended = True
        out.append(self._event(TERMINAL_EVENT[status], response=copy.deepcopy(self.response)))
        return out
