"""The contract every inference backend keeps, and small helpers they share."""

from __future__ import annotations

import abc
import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from inference.backends.clients import LIST_MODELS_TIMEOUT
from inference.events import ChatRequest, InferenceEvent

log = logging.getLogger(__name__)

# How much of an upstream error body goes into a message: enough to read, not a page of HTML.
ERROR_BODY_CHARS = 200


class InferenceBackend(abc.ABC):
    """A model server we can stream chat replies from.

    CONTRACT of `stream(request)`:

    * It is an async generator of `inference.events` values: any number of `TextDelta`,
      `ReasoningDelta`, `ToolCallDelta` and `Usage`, then exactly one `Finish` or
      `StreamError`, then nothing. Reasoning text never goes into a `TextDelta`.
    * It never raises for transport trouble: a refused connection, DNS failure, connect
      or read timeout (INFERENCE_READ_TIMEOUT bounds the gap between two chunks), HTTP
      4xx/5xx, a malformed chunk, or a connection dropped mid-reply all become one
      `StreamError` whose message names the server and says what to do about it.
    * `asyncio.CancelledError` propagates, and cancelling the consuming task (or closing
      the generator) closes the upstream HTTP connection so the server stops generating.
      Consumers that stop early should close it: `async with contextlib.aclosing(...)`.

    `list_models()` never raises: it returns [] when the server is unreachable, within
    about LIST_MODELS_TIMEOUT seconds. Entries look like {"id": "local/llama3.1",
    "object": "model", "created": 0, "owned_by": "local"}.

    Server-side functions live in one place, ``inference.registry``, not on backends.
    """

    inference_type: str = ""

    @abc.abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[InferenceEvent]:
        """Stream the reply to `request` (implemented as an `async def` generator)."""

    @abc.abstractmethod
    async def fetch_models(self) -> list[dict]:
        """Ask the server for its models; may raise. `list_models()` is the safe wrapper."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """Where this backend points, e.g. {"type": "local", "url": ..., "protocol": "ollama"}."""

    def explain_error(self, exc: BaseException) -> str:
        """An operator-facing sentence for an exception raised while talking to the server."""
        return f"the {self.inference_type} backend failed: {type(exc).__name__}: {exc}"

    async def list_models(self) -> list[dict]:
        """The server's models with routing-prefixed ids, or [] if it cannot be reached."""
        try:
            return await asyncio.wait_for(self.fetch_models(), LIST_MODELS_TIMEOUT + 0.5)
        except Exception as exc:  # noqa: BLE001 — unreachable servers simply offer nothing
            log.debug("%s backend listed no models: %s", self.inference_type, self.explain_error(exc))
            return []

    async def probe(self) -> dict:
        """{"ok", "models", "error"}: whether the server answered, for status pages."""
        try:
            models = await asyncio.wait_for(self.fetch_models(), LIST_MODELS_TIMEOUT + 0.5)
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "models": 0, "error": self.explain_error(exc)}
        return {"ok": True, "models": len(models), "error": None}

    def model_entry(self, name: str, created: int = 0) -> dict:
        """One /v1/models entry for `name`, with this backend's routing prefix."""
        return {"id": f"{self.inference_type}/{name}", "object": "model", "created": created, "owned_by": self.inference_type}

    # The seed's API, kept for callers that still use it. The engine that runs conversations
    # lives above inference, so it installs itself here (``install_conversation_runner``).
    def process_conversation(
        self, thread_id: str, message_id: str, run_id: str, assistant_id: str, user_message: str
    ) -> Iterator[str]:
        """Run one conversation turn on this backend, yielding text chunks (seed compatibility, sync).

        This backend answers, whatever backend the run's model names; the model name sent is
        the run's, without its routing prefix.
        """
        return _runner("process")(self, thread_id=thread_id, message_id=message_id, run_id=run_id,
                                  assistant_id=assistant_id, user_message=user_message)

    def aprocess_conversation(
        self, thread_id: str, message_id: str, run_id: str, assistant_id: str, user_message: str
    ) -> AsyncIterator[str]:
        """The async twin of `process_conversation`."""
        return _runner("aprocess")(self, thread_id=thread_id, message_id=message_id, run_id=run_id,
                                   assistant_id=assistant_id, user_message=user_message)


ConversationRunner = Callable[..., Any]
_runners: dict[str, ConversationRunner] = {}


def install_conversation_runner(*, process: ConversationRunner, aprocess: ConversationRunner) -> None:
    """Let `process_conversation` run on an engine: ``process(backend, **turn)`` yields text
    chunks, ``aprocess(backend, **turn)`` async-yields them (the conversations app calls this
    when Django starts)."""
    _runners.update(process=process, aprocess=aprocess)


def _runner(kind: str) -> ConversationRunner:
    try:
        return _runners[kind]
    except KeyError:
        raise RuntimeError("no conversation engine is installed: add 'conversations' to INSTALLED_APPS "
                           "and call django.setup() first") from None


def content_text(content: Any) -> str:
    """The text of a chat message's `content`: a string, None, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def short_body(text: str, limit: int = ERROR_BODY_CHARS) -> str:
    """Collapse whitespace and truncate an upstream body for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def new_tool_call_id() -> str:
    """A fresh OpenAI-style tool call id, for servers (Ollama, the demo) that send none."""
    return "call_" + uuid.uuid4().hex[:24]
