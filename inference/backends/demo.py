"""The built-in demo backend: deterministic canned replies, so a fresh install works offline.

Models: `demo/echo` (repeats what you said), `demo/slow` (the same at 0.25 s a word, for
trying Stop), and `demo/tools` (calls the tools it is offered, then reports their output).
Every reply says it comes from the demo, so nobody mistakes it for a model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from django.conf import settings

from inference.backends.base import InferenceBackend, content_text, new_tool_call_id
from inference.events import ChatRequest, Finish, InferenceEvent, TextDelta, ToolCallDelta, Usage

DEMO_MODELS = ("echo", "slow", "tools")
SLOW_TOKEN_DELAY = 0.25
TOOL_RESULT_CHARS = 500
BANNER = "🧪 Demo backend — no model server is configured, so this is a canned reply."
SAMPLE = (
    "\n\n- This reply is streamed word by word by the built-in demo model."
    "\n- Point Entities at a real model with `OLLAMA_HOST` or `OPENAI_API_KEY`."
)

_FENCED_PYTHON = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)
_AIRPORT = re.compile(r"\b[A-Z]{3}\b")
_ASN = re.compile(r"\bAS\d+\b", re.I)


class DemoBackend(InferenceBackend):
    """Needs nothing and is always available; unknown model names answer like demo/echo."""

    inference_type = "demo"

    def describe(self) -> dict:
        return {"type": self.inference_type, "url": None, "protocol": "demo"}

    async def fetch_models(self) -> list[dict]:
        return [self.model_entry(name) for name in DEMO_MODELS]

    async def stream(self, request: ChatRequest) -> AsyncIterator[InferenceEvent]:
        delay = SLOW_TOKEN_DELAY if request.model == "slow" else getattr(settings, "DEMO_TOKEN_DELAY", 0.02)
        prompt_tokens = sum(len(content_text(m.get("content")).split()) for m in request.messages)
        text = echo_text(request.messages)
        if request.model == "tools":
            results = trailing_tool_results(request.messages)
            if results:
                text = "(demo) The tool returned: " + results[:TOOL_RESULT_CHARS]
            elif request.tools and request.tool_choice != "none":
                async for event in _call_tool(request, prompt_tokens, delay):
                    yield event
                return
        async for event in _stream_words(text, delay, request.max_tokens, prompt_tokens):
            yield event


def echo_text(messages: list[dict]) -> str:
    """The canned reply: the banner, what the user said last, and a little Markdown."""
    said = last_user_text(messages).strip() or "(nothing yet)"
    return f"{BANNER} You said: {said}{SAMPLE}"


def last_user_text(messages: list[dict]) -> str:
    """The text of the last user message, or ""."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def trailing_tool_results(messages: list[dict]) -> str:
    """The contents of the tool results that end the conversation (several after parallel calls)."""
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, content_text(message.get("content")))
    return "\n".join(results)


def demo_arguments(function: dict, text: str) -> dict:
    """Arguments for `function`, derived deterministically from the user's `text`."""
    name = function.get("name")
    properties = (function.get("parameters") or {}).get("properties") or {}
    if "code" in properties:
        fenced = _FENCED_PYTHON.search(text)
        return {"code": fenced.group(1).strip() if fenced else "print(1 + 1)"}
    if name == "get_flight_times":
        codes = _AIRPORT.findall(text)
        return {"departure": codes[0], "arrival": codes[1]} if len(codes) >= 2 else {"departure": "JFK", "arrival": "LAX"}
    if name == "getAnnouncedPrefixes":
        asn = _ASN.search(text)
        return {"resource": asn.group(0).upper() if asn else "AS3333"}
    return _first_json_object(text)


def _first_json_object(text: str) -> dict:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


async def _call_tool(request: ChatRequest, prompt_tokens: int, delay: float) -> AsyncIterator[InferenceEvent]:
    text = last_user_text(request.messages)
    functions = [tool.get("function") or {} for tool in request.tools]
    forced = request.tool_choice.get("function", {}).get("name") if isinstance(request.tool_choice, dict) else None
    chosen = next((f for f in functions if f.get("name") == forced), None) or next(
        (f for f in functions if f.get("name") and f["name"] in text), functions[0]
    )
    arguments = json.dumps(demo_arguments(chosen, text))
    # Stream the arguments in pieces, as real servers do, so consumers must reassemble.
    cut = max(1, len(arguments) // 3)
    fragments = [arguments[:cut], arguments[cut : 2 * cut], arguments[2 * cut :]] if len(arguments) >= 9 else [arguments[:cut], arguments[cut:]]
    call_id = new_tool_call_id()
    for number, fragment in enumerate(fragments):
        await asyncio.sleep(delay)
        first = number == 0
        yield ToolCallDelta(index=0, id=call_id if first else None, name=chosen.get("name") if first else None, arguments=fragment)
    yield Usage(prompt_tokens, len(arguments.split()))
    yield Finish("tool_calls")


async def _stream_words(text: str, delay: float, max_tokens: int | None, prompt_tokens: int) -> AsyncIterator[InferenceEvent]:
    words = re.findall(r"\s*\S+", text)
    limit = len(words) if max_tokens is None else max(0, max_tokens)
    for word in words[:limit]:
        # sleep(0) still yields to the loop, so a cancel lands between words.
        await asyncio.sleep(delay)
        yield TextDelta(word)
    yield Usage(prompt_tokens, min(limit, len(words)))
    yield Finish("length" if limit < len(words) else "stop")
