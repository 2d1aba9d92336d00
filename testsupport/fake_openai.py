"""A deterministic OpenAI-compatible server: GET /v1/models, POST /v1/chat/completions.

    with FakeOpenAIServer() as fake:
        fake.push(Reply(["Hel", "lo"]))
        client = openai.OpenAI(base_url=fake.url, api_key="x")
"""

from __future__ import annotations

import json

from testsupport.fake_base import AbruptClose, Exchange, FakeModelServer, StreamFormat, fragments, play
from testsupport.scenarios import (
    Disconnect,
    Hang,
    HttpError,
    Malformed,
    RawStream,
    Reply,
    ToolCalls,
    echo_reply,
    prompt_words,
)

CREATED = 1_700_000_000


def _sse(data: dict | str) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


def _usage(usage: tuple[int, ...]) -> dict:
    counted = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": usage[0] + usage[1]}
    if len(usage) > 2:
        counted["completion_tokens_details"] = {"reasoning_tokens": usage[2]}
    return counted


class FakeOpenAIServer(FakeModelServer):
    """`.url` is the base URL for the SDK ("http://127.0.0.1:PORT/v1").

    With `api_key` set, requests without `Authorization: Bearer <api_key>` get a 401.
    """

    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] = ("fake-model", "fake-large")) -> None:
        super().__init__()
        self.api_key = api_key
        self.models = list(models)
        self._default_models = list(models)

    def reset(self) -> None:
        """Also restore the model list and drop any required API key."""
        super().reset()
        self.models = list(self._default_models)
        self.api_key = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    async def handle(self, method: str, path: str, headers: dict[str, str], body: dict | None, exchange: Exchange) -> None:
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}
            await exchange.respond(401, json.dumps(error).encode())
        elif method == "GET" and path == "/v1/models":
            data = [{"id": name, "object": "model", "created": CREATED, "owned_by": "fake"} for name in self.models]
            await exchange.respond(200, json.dumps({"object": "list", "data": data}).encode())
        elif method == "POST" and path == "/v1/chat/completions":
            await self._chat(body or {}, exchange)
        else:
            error = {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}
            await exchange.respond(404, json.dumps(error).encode())

    async def _chat(self, body: dict, exchange: Exchange) -> None:
        scenario = self.next_scenario() or echo_reply(body)
        number = self.next_number()
        if isinstance(scenario, HttpError):
            is_json = _is_json(scenario.body)
            await exchange.respond(scenario.status, scenario.body.encode(), "application/json" if is_json else "text/plain")
        elif isinstance(scenario, RawStream):
            await exchange.respond(200, scenario.body, "text/event-stream")
        elif body.get("stream"):
            await play(_OpenAIStream(body, number), scenario, echo_reply(body).chunks, prompt_words(body), exchange)
        else:
            await self._whole(body, number, scenario, exchange)

    async def _whole(self, body: dict, number: int, scenario: object, exchange: Exchange) -> None:
        """A non-streaming chat.completion."""
        if isinstance(scenario, Hang):
            await exchange.gone.wait()
            return
        if isinstance(scenario, Disconnect):
            await exchange.start(200)
            raise AbruptClose
        if isinstance(scenario, Malformed):
            await exchange.respond(200, b"this is not json {")
            return
        message: dict = {"role": "assistant", "content": None}
        if isinstance(scenario, ToolCalls):
            message["content"] = scenario.text or None
            message["tool_calls"] = [
                {"id": f"call_fake{number}_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
                for i, (name, arguments) in enumerate(scenario.calls)
            ]
            finish, usage = "tool_calls", scenario.usage or (prompt_words(body), len(scenario.calls))
        else:
            assert isinstance(scenario, Reply)
            message["content"] = "".join(scenario.chunks)
            finish, usage = scenario.finish, scenario.usage or (prompt_words(body), len(scenario.chunks))
        completion = {
            "id": f"chatcmpl-fake{number}",
            "object": "chat.completion",
            "created": CREATED,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": _usage(usage),
        }
        await exchange.respond(200, json.dumps(completion).encode())


class _OpenAIStream(StreamFormat):
    """`chat.completion.chunk` server-sent events, ending in `data: [DONE]`."""

    content_type = "text/event-stream"
    garbage = b"data: this is not json {\n\n"

    def __init__(self, body: dict, number: int) -> None:
        self.model = body.get("model")
        self.number = number
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(self, delta: dict, finish: str | None = None) -> bytes:
        data: dict = {
            "id": f"chatcmpl-fake{self.number}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            data["usage"] = None  # as OpenAI does: null on every chunk but the last
        return _sse(data)

    def opening(self) -> list[bytes]:
        return [self.chunk({"role": "assistant", "content": ""})]

    def text(self, text: str) -> bytes:
        return self.chunk({"content": text})

    def reasoning(self, text: str, field: str) -> bytes:
        return self.chunk({field: text})

    def tool_calls(self, calls: list[tuple[str, str]], fragment_size: int) -> list[bytes]:
        frames = []
        for index, (name, arguments) in enumerate(calls):
            head = {"index": index, "id": f"call_fake{self.number}_{index}", "type": "function", "function": {"name": name, "arguments": ""}}
            frames.append(self.chunk({"tool_calls": [head]}))
            for piece in fragments(arguments, fragment_size):
                frames.append(self.chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        return frames

    def closing(self, finish: str, usage: tuple[int, int]) -> list[bytes]:
        frames = [self.chunk({}, finish)]
        if self.include_usage:
            frames.append(
                _sse({"id": f"chatcmpl-fake{self.number}", "object": "chat.completion.chunk", "created": CREATED,
                      "model": self.model, "choices": [], "usage": _usage(usage)})
            )
        return frames + [_sse("[DONE]")]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
