"""A deterministic Ollama server: POST /api/chat (NDJSON stream), GET /api/tags.

    with FakeOllamaServer() as fake:
        fake.push(Reply(["Hel", "lo"]))
        # OLLAMA_HOST = fake.url
"""

from __future__ import annotations

import json

from testsupport.fake_base import AbruptClose, Exchange, FakeModelServer, StreamFormat, play
from testsupport.scenarios import Disconnect, Hang, HttpError, Malformed, Reply, ToolCalls, echo_reply, prompt_words

CREATED_AT = "2024-05-01T10:00:00.123456789Z"


def _line(data: dict) -> bytes:
    return json.dumps(data).encode() + b"\n"


class FakeOllamaServer(FakeModelServer):
    """`.url` is what OLLAMA_HOST should be ("http://127.0.0.1:PORT")."""

    def __init__(self, *, models: tuple[str, ...] = ("llama3.1:latest", "qwen2.5:7b")) -> None:
        super().__init__()
        self.models = list(models)
        self._default_models = list(models)
        self.vision_models: set[str] = set()  # /api/show lists "vision" in their capabilities

    def reset(self) -> None:
        """Also restore the model list."""
        super().reset()
        self.models = list(self._default_models)
        self.vision_models = set()

    @property
    def url(self) -> str:
        return self.base_url

    async def handle(self, method: str, path: str, headers: dict[str, str], body: dict | None, exchange: Exchange) -> None:
        if method == "GET" and path == "/api/tags":
            models = [{"name": n, "model": n, "modified_at": CREATED_AT, "size": 1, "digest": "0" * 64, "details": {}} for n in self.models]
            await exchange.respond(200, json.dumps({"models": models}).encode())
        elif method == "POST" and path == "/api/chat":
            await self._chat(body or {}, exchange)
        elif method == "POST" and path == "/api/show":
            model = (body or {}).get("model")
            capabilities = ["completion", "vision"] if model in self.vision_models else ["completion"]
            await exchange.respond(200, json.dumps({"details": {}, "capabilities": capabilities}).encode())
        else:
            await exchange.respond(404, b"404 page not found", "text/plain")

    async def _chat(self, body: dict, exchange: Exchange) -> None:
        scenario = self.next_scenario() or echo_reply(body)
        if isinstance(scenario, HttpError):
            await exchange.respond(scenario.status, scenario.body.encode())
        elif body.get("stream", True):  # Ollama streams unless told not to
            await play(_OllamaStream(body), scenario, echo_reply(body).chunks, prompt_words(body), exchange)
        else:
            await self._whole(body, scenario, exchange)

    async def _whole(self, body: dict, scenario: object, exchange: Exchange) -> None:
        """A non-streaming reply: one JSON object."""
        if isinstance(scenario, Hang):
            await exchange.gone.wait()
            return
        if isinstance(scenario, Disconnect):
            await exchange.start(200)
            raise AbruptClose
        if isinstance(scenario, Malformed):
            await exchange.respond(200, b"this is not json {")
            return
        stream = _OllamaStream(body)
        if isinstance(scenario, ToolCalls):
            message = {"role": "assistant", "content": scenario.text, "tool_calls": stream.calls(scenario.calls)}
            finish, usage = "stop", scenario.usage or (prompt_words(body), len(scenario.calls))
        else:
            assert isinstance(scenario, Reply)
            message = {"role": "assistant", "content": "".join(scenario.chunks)}
            finish, usage = scenario.finish, scenario.usage or (prompt_words(body), len(scenario.chunks))
        await exchange.respond(200, json.dumps({**stream.done(finish, usage), "message": message}).encode())


class _OllamaStream(StreamFormat):
    """One JSON object per line; the last has "done": true and the token counts."""

    content_type = "application/x-ndjson"

    def __init__(self, body: dict) -> None:
        self.model = body.get("model")

    def message(self, message: dict) -> bytes:
        return _line({"model": self.model, "created_at": CREATED_AT, "message": {"role": "assistant", **message}, "done": False})

    def text(self, text: str) -> bytes:
        return self.message({"content": text})

    def reasoning(self, text: str, field: str) -> bytes:
        return self.message({"content": "", "thinking": text})  # Ollama has one name for it

    def calls(self, calls: list[tuple[str, str]]) -> list[dict]:
        return [{"function": {"name": name, "arguments": json.loads(arguments or "{}")}} for name, arguments in calls]

    def tool_calls(self, calls: list[tuple[str, str]], fragment_size: int) -> list[bytes]:
        # Ollama sends all calls whole, in one message; fragment_size does not apply.
        return [self.message({"content": "", "tool_calls": self.calls(calls)})]

    def done(self, finish: str, usage: tuple[int, int]) -> dict:
        return {
            "model": self.model,
            "created_at": CREATED_AT,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            # Real Ollama says "stop" after tool calls too.
            "done_reason": "length" if finish == "length" else "stop",
            "total_duration": 1_000_000,
            "prompt_eval_count": usage[0],
            "eval_count": usage[1],
        }

    def closing(self, finish: str, usage: tuple[int, int]) -> list[bytes]:
        return [_line(self.done(finish, usage))]
