"""Scripted behaviours for the fake model servers; each one answers one chat request.

`after_chunks` counts content chunks (one echoed word each) sent before the behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    """Stream `chunks` as text, then finish with `finish` and `usage` (default: counted)."""

    chunks: list[str]
    usage: tuple[int, int] | tuple[int, int, int] | None = None
    delay: float = 0.0
    finish: str = "stop"
    first_delay: float = 0.0
    # Streamed before the text, as a thinking model does. The OpenAI fake puts it in
    # `delta.<reasoning_field>` ("reasoning_content": vLLM, llama.cpp; "reasoning":
    # OpenRouter, LM Studio), the Ollama fake in `message.thinking`. A third usage number
    # (default: one per piece) is reported as completion_tokens_details.reasoning_tokens.
    reasoning: list[str] = field(default_factory=list)
    reasoning_field: str = "reasoning_content"


@dataclass
class ToolCalls:
    """Call tools: `calls` are (name, arguments JSON); several calls are parallel calls.

    The OpenAI fake streams each call's arguments in `fragment_size`-character pieces;
    Ollama sends calls whole, as the real one does. `text` is streamed first, if any.
    """

    calls: list[tuple[str, str]]
    fragment_size: int = 5
    text: str = ""
    usage: tuple[int, int] | tuple[int, int, int] | None = None
    reasoning: list[str] = field(default_factory=list)  # as Reply's, streamed first
    reasoning_field: str = "reasoning_content"


@dataclass
class HttpError:
    """Answer with HTTP `status` and `body` (JSON if it parses, else text/plain)."""

    status: int = 500
    body: str = '{"error": {"message": "the fake model server failed", "type": "server_error"}}'


@dataclass
class Hang:
    """Send headers and `after_chunks` chunks, then nothing until the client goes away."""

    after_chunks: int = 0


@dataclass
class Disconnect:
    """Send `after_chunks` chunks, then drop the connection without ending the response."""

    after_chunks: int = 1


@dataclass
class Malformed:
    """Send `after_chunks` chunks, then a line that is not JSON, then end the response."""

    after_chunks: int = 0


@dataclass
class RawStream:
    """Answer a streaming request with HTTP 200 and `body` verbatim (SSE framing cases)."""

    body: bytes


Scenario = Reply | ToolCalls | HttpError | Hang | Disconnect | Malformed | RawStream


@dataclass
class RecordedRequest:
    """One request a fake received."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    client: tuple[str, int] | None = None  # the peer address: the same one means a reused connection


def message_text(content: object) -> str:
    """The text of a chat message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def echo_reply(body: dict | None) -> Reply:
    """What the fakes say with an empty queue: "echo: <last user text>", word by word."""
    messages = (body or {}).get("messages") or []
    said = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    return Reply(chunks=words(f"echo: {said}"))


def words(text: str) -> list[str]:
    """Split `text` into chunks that concatenate back to it: "a b" → ["a", " b"]."""
    parts = text.split(" ")
    return [parts[0]] + [" " + part for part in parts[1:]]


def prompt_words(body: dict | None) -> int:
    """A deterministic prompt "token" count: words across all message contents."""
    return sum(len(message_text(m.get("content")).split()) for m in (body or {}).get("messages") or [])
