"""Any OpenAI-compatible chat-completions endpoint: streamed replies over httpx, model lists
through the official `openai` SDK.

Two configurations share this module: `cloud` (OPENAI_BASE_URL / OPENAI_API_KEY: OpenAI,
DeepSeek, Together, Groq, …) and `local` when LOCAL_OPENAI_BASE_URL points at a local
server (vLLM, llama.cpp, LM Studio, Ollama's /v1).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import openai
from django.conf import settings

from inference.backends.base import InferenceBackend, short_body
from inference.backends.think_tags import ThinkTagSplitter
from inference.backends.clients import (
    LIST_MODELS_TIMEOUT,
    LoopLocal,
    connection_limits,
    settings_key,
    stream_timeout,
    transport_error_message,
)
from inference.events import (
    FINISH_REASONS, ChatRequest, Finish, InferenceEvent, ReasoningDelta, StreamError, TextDelta, ToolCallDelta, Usage,
)
from inference.vision import for_model, sees_by_setting

@dataclass(frozen=True)
class _Clients:
    """Per event loop: the SDK (model lists) and the httpx client it wraps (chat streams)."""

    sdk: openai.AsyncOpenAI
    http: httpx.AsyncClient
    chat_url: str
    headers: dict

    async def aclose(self) -> None:
        await self.http.aclose()  # the SDK's client is this one underneath


_clients: LoopLocal[_Clients] = LoopLocal()


class NotConfigured(Exception):
    """The backend lacks a setting it needs; the message says which."""


class OpenAICompatBackend(InferenceBackend):
    """The `cloud` backend: OPENAI_BASE_URL with OPENAI_API_KEY (required)."""

    inference_type = "cloud"
    base_url_setting = "OPENAI_BASE_URL"
    api_key_setting = "OPENAI_API_KEY"
    needs_key = True
    hint = "check OPENAI_BASE_URL and the network"

    @property
    def base_url(self) -> str:
        return (getattr(settings, self.base_url_setting) or "").rstrip("/")

    @property
    def api_key(self) -> str:
        return getattr(settings, self.api_key_setting) or ""

    def describe(self) -> dict:
        return {"type": self.inference_type, "url": self.base_url, "protocol": "openai", "api_key_set": bool(self.api_key)}

    def _clients(self) -> _Clients:
        if self.needs_key and not self.api_key:
            raise NotConfigured(
                f"{self.inference_type} inference needs {self.api_key_setting} — set it (and {self.base_url_setting} "
                "for a provider other than OpenAI), or pick a local/ or demo/ model"
            )
        base_url, api_key = self.base_url, self.api_key or "not-needed"

        def make() -> _Clients:
            http = httpx.AsyncClient(limits=connection_limits(), timeout=stream_timeout())
            # Retries are the engine's decision, not the SDK's: a retried stream would
            # silently restart a reply the user is already reading.
            sdk = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=stream_timeout(),
                                     http_client=http)
            return _Clients(sdk=sdk, http=http, chat_url=f"{base_url}/chat/completions",
                            headers={"Authorization": f"Bearer {api_key}", "Accept": "text/event-stream"})

        return _clients.get((base_url, api_key, settings_key()), make)

    async def stream(self, request: ChatRequest) -> AsyncIterator[InferenceEvent]:
        finish: str | None = None
        usage: Usage | None = None
        saw_tool_calls = False
        tags = ThinkTagSplitter() if settings.ENTITIES_THINK_TAGS else None
        try:
            # Plain httpx and JSON, not the SDK: its typed chunk objects were three quarters
            # of the server's CPU per streamed token, and building its request about 2 ms of
            # each run's time to first token (bench S2 and the per-run profile).
            clients = self._clients()
            upstream = clients.http.stream("POST", clients.chat_url, json=chat_params(request), headers=clients.headers)
            # `async with` closes the HTTP response on cancel or early exit, so the
            # server stops generating a reply nobody will read.
            async with upstream as response:
                if response.status_code >= 400:
                    body = (await response.aread()).decode("utf-8", "replace")
                    yield StreamError(self._status_message(response.status_code, body),
                                      code="rate_limit_exceeded" if response.status_code == 429 else "server_error")
                    return
                async for chunk in sse_chunks(response):
                    if chunk.get("error"):
                        yield StreamError(self._stream_error_message(chunk["error"]))
                        return
                    if chunk.get("usage"):
                        counted = chunk["usage"]
                        details = counted.get("completion_tokens_details") or {}
                        usage = Usage(counted.get("prompt_tokens") or 0, counted.get("completion_tokens") or 0,
                                      details.get("reasoning_tokens") or 0)
                    for choice in (chunk.get("choices") or ())[:1]:
                        delta = choice.get("delta")
                        if delta:
                            # vLLM, llama.cpp and DeepSeek name it reasoning_content; OpenRouter
                            # and LM Studio reasoning.
                            thought = delta.get("reasoning_content") or delta.get("reasoning")
                            if thought and isinstance(thought, str):
                                yield ReasoningDelta(thought)
                            content = delta.get("content")
                            if content:
                                if tags is None:
                                    yield TextDelta(content)
                                else:
                                    for event in tags.feed(content):
                                        yield event
                            for call in delta.get("tool_calls") or ():
                                if tags is not None and not saw_tool_calls:
                                    for event in tags.flush():
                                        yield event
                                saw_tool_calls = True
                                function = call.get("function") or {}
                                yield ToolCallDelta(
                                    index=call.get("index", 0),
                                    id=call.get("id"),
                                    name=function.get("name"),
                                    arguments=function.get("arguments") or "",
                                )
                        finish = choice.get("finish_reason") or finish
        except Exception as exc:  # noqa: BLE001 — the contract: transport trouble is an event
            yield StreamError(self.explain_error(exc), code=_error_code(exc))
            return
        if finish is None:
            yield StreamError(f"the model server at {self.base_url} closed the connection mid-reply (no finish reason)")
            return
        for event in tags.flush() if tags is not None else ():
            yield event
        # Usage may arrive in a chunk after the finish reason, so both wait for the end.
        if usage is not None:
            yield usage
        yield Finish(_finish_reason(finish, saw_tool_calls))

    def _stream_error_message(self, error) -> str:
        message = error.get("message") if isinstance(error, dict) else error
        return f"the model server at {self.base_url} reported an error: {short_body(str(message or error))}"

    async def fetch_models(self) -> list[dict]:
        page = await self._clients().sdk.models.list(timeout=LIST_MODELS_TIMEOUT)
        return [self.model_entry(model.id, int(getattr(model, "created", 0) or 0)) for model in page.data]

    def explain_error(self, exc: BaseException) -> str:
        url = self.base_url
        if isinstance(exc, NotConfigured):
            return str(exc)
        if isinstance(exc, openai.APIStatusError):
            return self._status_message(exc.status_code, _response_text(exc))
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            if isinstance(cause, (httpx.HTTPError, httpx.InvalidURL)):
                return transport_error_message(cause, url=url, hint=self.hint)
            if isinstance(exc, openai.APITimeoutError):
                return transport_error_message(httpx.ReadTimeout(""), url=url, hint=self.hint)
            return f"no model server answered at {url} — {self.hint}"
        if isinstance(exc, openai.APIError):
            return f"the model server at {url} reported an error: {short_body(exc.message)}"
        if isinstance(exc, json.JSONDecodeError):
            return f"the model server at {url} sent a malformed chunk: {short_body(exc.doc, 80)}"
        if isinstance(exc, (ValueError, TypeError, AttributeError, KeyError)):
            return f"the model server at {url} sent a malformed chunk: {short_body(str(exc), 80)}"
        return transport_error_message(exc, url=url, hint=self.hint)

    def _status_message(self, status: int, body: str) -> str:
        message = f"the model server at {self.base_url} answered HTTP {status}: {_status_detail(body)}"
        if status in (401, 403):
            message += f" — check {self.api_key_setting}"
        elif status == 404:
            message += f" — check the model name and {self.base_url_setting} (it usually ends in /v1)"
        return message


class LocalOpenAICompatBackend(OpenAICompatBackend):
    """The `local` backend when LOCAL_OPENAI_BASE_URL is set (vLLM, llama.cpp, LM Studio…)."""

    inference_type = "local"
    base_url_setting = "LOCAL_OPENAI_BASE_URL"
    api_key_setting = "LOCAL_OPENAI_API_KEY"
    needs_key = False
    hint = "start the server or fix LOCAL_OPENAI_BASE_URL"


def chat_params(request: ChatRequest) -> dict:
    """`chat.completions.create` arguments for `request`, passing only what was set."""
    params: dict = {
        "model": request.model,
        # Image parts as they are for a model that sees (ENTITIES_VISION_MODELS), else placeholders.
        "messages": for_model(request.messages, sees=sees_by_setting(request.model)),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        # Servers reject tool_choice / parallel_tool_calls without tools.
        params["tools"] = request.tools
        if request.tool_choice is not None:
            params["tool_choice"] = request.tool_choice
        if request.parallel_tool_calls is not None:
            params["parallel_tool_calls"] = request.parallel_tool_calls
    for name in ("temperature", "top_p", "max_tokens", "response_format"):
        value = getattr(request, name)
        if value is not None:
            params[name] = value
    return params


async def sse_chunks(response: httpx.Response) -> AsyncIterator[dict]:
    """The JSON objects of a server-sent-event stream, until ``data: [DONE]`` or the end.

    Per the SSE format, consecutive ``data:`` lines form one event, dispatched at the blank
    line; ``event:``, ``id:`` and comment lines carry nothing a chat completion needs.
    A chunk that is not a JSON object raises ValueError (a malformed chunk).
    """
    data: list[str] = []
    lines = response.aiter_lines()
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
            continue
        if line or not data:
            continue
        payload = "\n".join(data) if len(data) > 1 else data[0]
        data = []
        if payload.startswith("[DONE]"):
            await _drain(lines)
            return
        chunk = json.loads(payload)
        if not isinstance(chunk, dict):
            raise ValueError(f"not a JSON object: {payload}")
        yield chunk
    if data and not data[0].startswith("[DONE]"):
        chunk = json.loads("\n".join(data))  # a last event without its blank line
        if isinstance(chunk, dict):
            yield chunk


DRAIN_SECONDS = 1.0


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read what follows ``[DONE]`` (normally just the body's end) so that httpx can reuse
    the connection: a response closed unread closes its connection, and the next run
    paid for a new TCP connection. A server that keeps sending is cut off."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in lines:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass


def _finish_reason(reason: str, saw_tool_calls: bool) -> str:
    if reason == "function_call":
        return "tool_calls"
    # Some local servers say "stop" after emitting tool calls; the engine keys off the reason.
    if reason == "stop" and saw_tool_calls:
        return "tool_calls"
    return reason if reason in FINISH_REASONS else "stop"


def _status_detail(body: str) -> str:
    """The error's own message from an error body (OpenAI's envelope or a bare object), else the text."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return short_body(str(message))
    return short_body(body or "(empty body)")


def _response_text(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except Exception:  # noqa: BLE001 — an unread body has no text; the status says enough
        return ""


def _error_code(exc: BaseException) -> str:
    return "rate_limit_exceeded" if isinstance(exc, openai.RateLimitError) else "server_error"
