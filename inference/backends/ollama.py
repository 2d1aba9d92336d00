"""Ollama's native streaming chat API (`POST /api/chat`, one JSON object per line)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from inference.backends.base import InferenceBackend, new_tool_call_id, short_body
from inference.backends.clients import (
    LIST_MODELS_TIMEOUT,
    LoopLocal,
    connection_limits,
    settings_key,
    stream_timeout,
    transport_error_message,
)
from inference.backends.ollama_vision import model_sees, ollama_content
from inference.backends.think_tags import ThinkTagSplitter
from inference.events import ChatRequest, Finish, InferenceEvent, ReasoningDelta, StreamError, TextDelta, ToolCallDelta, Usage
from inference.vision import has_images

DEFAULT_PORT = 11434
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
HINT = "start Ollama (`ollama serve`) or set OLLAMA_HOST"

_clients: LoopLocal[httpx.AsyncClient] = LoopLocal()


class OllamaBackend(InferenceBackend):
    """The `local` backend by default: an Ollama server at OLLAMA_HOST."""

    inference_type = "local"

    @property
    def host(self) -> str:
        return ollama_url(settings.OLLAMA_HOST)

    def describe(self) -> dict:
        return {"type": self.inference_type, "url": self.host, "protocol": "ollama"}

    def _client(self) -> httpx.AsyncClient:
        return _clients.get(settings_key(), lambda: httpx.AsyncClient(timeout=stream_timeout(), limits=connection_limits()))

    async def stream(self, request: ChatRequest) -> AsyncIterator[InferenceEvent]:
        reply = _Reply(self.host)
        error: StreamError | None = None
        try:
            # `async with` closes the connection on cancel or early exit, which is what
            # makes Ollama stop generating for a reply nobody reads any more.
            # Asked only when there are images: whether this model takes them (cached).
            sees = has_images(request.messages) and await model_sees(self._client(), self.host, request.model)
            async with self._client().stream("POST", f"{self.host}/api/chat",
                                             json=ollama_payload(request, sees=sees)) as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode("utf-8", "replace")
                    error = self._status_error(response.status_code, body, request.model)
                else:
                    # Read to the end of the body even after "done", so the connection
                    # goes back to the pool instead of being closed.
                    async for line in response.aiter_lines():
                        if reply.terminal is not None or not line.strip():
                            continue
                        try:
                            events = reply.feed(json.loads(line))
                        except (ValueError, TypeError, AttributeError):
                            error = StreamError(f"the model server at {self.host} sent a malformed chunk: {short_body(line, 80)}")
                            break
                        for event in events:
                            yield event
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if reply.terminal is None:
                error = StreamError(self.explain_error(exc))
        # The last event is yielded with the connection already released, so a consumer
        # that stops reading at Finish leaves nothing open.
        yield error or reply.terminal or StreamError(f"the model server at {self.host} closed the connection mid-reply")

    def _status_error(self, status: int, body: str, model: str) -> StreamError:
        detail = _error_text(body)
        message = f"the model server at {self.host} answered HTTP {status}: {detail}"
        if status == 404 and "not found" in detail:
            message += f" — pull it with `ollama pull {model}`"
        return StreamError(message, code="rate_limit_exceeded" if status == 429 else "server_error")

    async def fetch_models(self) -> list[dict]:
        response = await self._client().get(f"{self.host}/api/tags", timeout=LIST_MODELS_TIMEOUT)
        response.raise_for_status()
        return [self.model_entry(m["name"], _timestamp(m.get("modified_at"))) for m in response.json().get("models", [])]

    def explain_error(self, exc: BaseException) -> str:
        if isinstance(exc, httpx.HTTPStatusError):
            return f"the model server at {self.host} answered HTTP {exc.response.status_code}"
        return transport_error_message(exc, url=self.host, hint=HINT)


class _Reply:
    """Turns Ollama's chunks into events; Ollama sends each tool call whole."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.tool_calls = 0
        # The closing Finish or StreamError, held back for stream() to yield last.
        self.terminal: Finish | StreamError | None = None
        self.tags = ThinkTagSplitter() if settings.ENTITIES_THINK_TAGS else None

    def feed(self, chunk: dict) -> list[InferenceEvent]:
        if not isinstance(chunk, dict):
            raise ValueError("not an object")
        if chunk.get("error"):
            self.terminal = StreamError(f"the model server at {self.host} reported an error: {short_body(str(chunk['error']))}")
            return []
        events: list[InferenceEvent] = []
        message = chunk.get("message") or {}
        if message.get("thinking"):
            events.append(ReasoningDelta(message["thinking"]))
        if message.get("content"):
            events += self.tags.feed(message["content"]) if self.tags else [TextDelta(message["content"])]
        if self.tags and (message.get("tool_calls") or chunk.get("done")):
            events += self.tags.flush()
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments") or {}
            events.append(
                ToolCallDelta(
                    index=self.tool_calls,
                    id=call.get("id") or new_tool_call_id(),
                    name=function.get("name"),
                    arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
                )
            )
            self.tool_calls += 1
        if chunk.get("done"):
            events.append(Usage(int(chunk.get("prompt_eval_count") or 0), int(chunk.get("eval_count") or 0)))
            # Ollama says "stop" even when it called tools; the engine needs to know it did.
            reason = "tool_calls" if self.tool_calls else ("length" if chunk.get("done_reason") == "length" else "stop")
            self.terminal = Finish(reason)
        return events


def ollama_url(raw: str) -> str:
    """OLLAMA_HOST as a URL, read the way Ollama's own CLI reads it.

    The variable is shared with the Ollama server, where "0.0.0.0" or "host:port" without
    a scheme are common; those mean http, port 11434, and (for 0.0.0.0) this machine.
    """
    raw = (raw or "").strip().rstrip("/") or DEFAULT_URL
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        return raw  # let the request fail with an explanation naming the bad value
    host = parts.hostname or ""
    if host == "0.0.0.0":
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    if port is None and parts.scheme == "http":
        port = DEFAULT_PORT
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def ollama_payload(request: ChatRequest, *, sees: bool = False) -> dict:
    """The /api/chat body for `request`: only the options that were set; images only if the model `sees`."""
    payload: dict = {"model": request.model, "messages": ollama_messages(request.messages, sees=sees), "stream": True}
    # Ollama has no tool_choice; "none" is honoured by not offering the tools at all.
    if request.tools and request.tool_choice != "none":
        payload["tools"] = request.tools
    options = {
        key: value
        for key, value in (("temperature", request.temperature), ("top_p", request.top_p), ("num_predict", request.max_tokens))
        if value is not None
    }
    if options:
        payload["options"] = options
    response_format = request.response_format or {}
    if response_format.get("type") == "json_object":
        payload["format"] = "json"
    elif response_format.get("type") == "json_schema":
        payload["format"] = (response_format.get("json_schema") or {}).get("schema") or "json"
    return payload


def ollama_messages(messages: list[dict], *, sees: bool = False) -> list[dict]:
    """Chat-completions messages in Ollama's shape (tool arguments as objects, not strings)."""
    tool_names: dict[str | None, str | None] = {}
    converted = []
    for message in messages:
        role = message.get("role")
        item: dict = {"role": role, **ollama_content(message.get("content"), sees=sees)}
        if role == "assistant" and message.get("tool_calls"):
            item["tool_calls"] = []
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                tool_names[call.get("id")] = function.get("name")
                item["tool_calls"].append({"function": {"name": function.get("name"), "arguments": _arguments(function.get("arguments"))}})
        elif role == "tool" and tool_names.get(message.get("tool_call_id")):
            # Newer Ollama versions match results to calls by name.
            item["tool_name"] = tool_names[message.get("tool_call_id")]
        converted.append(item)
    return converted


def _arguments(raw: object) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_text(body: str) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    return short_body(str(error) if error else body or "(empty body)")


def _timestamp(value: str | None) -> int:
    try:
        # Ollama sends nanoseconds; fromisoformat accepts at most microseconds.
        head, dot, rest = (value or "").partition(".")
        if dot:
            digits = len(rest) - len(rest.lstrip("0123456789"))
            value = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
        return int(datetime.fromisoformat(value).timestamp())
    except (TypeError, ValueError):
        return 0
