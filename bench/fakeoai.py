"""A fast fake OpenAI-compatible model server: raw ASGI under uvicorn (httptools + uvloop).

    python -m bench.fakeoai --port 9100 [--ttft-ms 0 --itl-ms 0 --tokens 16 --chunk-tokens 1]

Routes: `POST /v1/chat/completions` (streamed `chat.completion.chunk` events, a usage
chunk, `data: [DONE]`; or one `chat.completion` when `stream` is false), `GET /v1/models`,
`GET /hello` (the raw-ASGI floor for request rates) and `GET /stats` (counters).

Each request picks its timing from, in order of precedence, the query string
(`?ttft_ms=&itl_ms=&tokens=&chunk_tokens=`), `x-fake-<name>` headers, the model name
(`bench:ttft_ms=0,itl_ms=10,tokens=256` — the form that survives Entities, which only
forwards the model), and the command-line defaults. Token ``i`` is the text ``"w<i> "``,
so a client can check that nothing was lost or reordered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from urllib.parse import parse_qsl

PARAMS = ("ttft_ms", "itl_ms", "tokens", "chunk_tokens")
MAX_TOKENS = 1_000_000
MAX_DELAY_MS = 60_000.0
CREATED = 1_700_000_000
_MODEL_PARAM = re.compile(r"(ttft_ms|itl_ms|tokens|chunk_tokens)=(\d+(?:\.\d+)?)")

DEFAULTS = {"ttft_ms": 0.0, "itl_ms": 0.0, "tokens": 16, "chunk_tokens": 1}
STATS = {"requests": 0, "streams": 0, "active": 0, "chunks": 0}

_CHUNK = ('data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":%d,"model":"%s",'
          '"choices":[{"index":0,"delta":{%s"content":"%s"},"finish_reason":null}]}\n\n')
_FINISH = ('data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":%d,"model":"%s",'
           '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
           'data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":%d,"model":"%s",'
           '"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}\n\n'
           'data: [DONE]\n\n')
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_JSON_HEADERS = [(b"content-type", b"application/json")]


def token_text(i: int) -> str:
    return f"w{i} "


def expected_text(tokens: int) -> str:
    """The whole reply for ``tokens`` tokens (what a client should have put together)."""
    return "".join(token_text(i) for i in range(tokens))


def model_name(**params: float) -> str:
    """The model name that carries ``params`` (e.g. ``ttft_ms=0, itl_ms=10, tokens=20``)."""
    return "bench:" + ",".join(f"{k}={params[k]:g}" for k in PARAMS if k in params)


def _number(name: str, raw: str) -> float:
    value = float(raw)
    if name in ("tokens", "chunk_tokens"):
        return int(min(max(value, 1 if name == "chunk_tokens" else 0), MAX_TOKENS))
    return min(max(value, 0.0), MAX_DELAY_MS)


def resolve_params(query: bytes, headers: list[tuple[bytes, bytes]], model: str) -> dict:
    params = dict(DEFAULTS)
    for name, raw in _MODEL_PARAM.findall(model or ""):
        params[name] = _number(name, raw)
    for key, value in headers:
        if key.startswith(b"x-fake-"):
            name = key[7:].decode("latin-1").replace("-", "_")
            if name in PARAMS:
                params[name] = _number(name, value.decode("latin-1"))
    for name, raw in parse_qsl(query.decode("latin-1")):
        if name in PARAMS:
            params[name] = _number(name, raw)
    return params


async def _body(receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _respond(send, status: int, body: bytes, headers=_JSON_HEADERS) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _stream(send, model: str, params: dict, prompt_tokens: int) -> None:
    loop = asyncio.get_running_loop()
    tokens, per = params["tokens"], params["chunk_tokens"]
    itl = params["itl_ms"] / 1000.0
    STATS["streams"] += 1
    STATS["active"] += 1
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        start = loop.time() + params["ttft_ms"] / 1000.0
        if params["ttft_ms"]:
            await asyncio.sleep(params["ttft_ms"] / 1000.0)
        for k, first in enumerate(range(0, tokens, per)):
            if itl and k:
                # An absolute schedule: a late wake-up does not push every later token back.
                delay = start + k * itl - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            text = "".join(token_text(i) for i in range(first, min(first + per, tokens)))
            role = '"role":"assistant",' if k == 0 else ""
            chunk = _CHUNK % (CREATED, model, role, text)
            await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
            STATS["chunks"] += 1
        tail = _FINISH % (CREATED, model, CREATED, model, prompt_tokens, tokens, prompt_tokens + tokens)
        await send({"type": "http.response.body", "body": tail.encode(), "more_body": False})
    finally:
        STATS["active"] -= 1


async def _chat(scope, receive, send) -> None:
    try:
        body = json.loads(await _body(receive) or b"{}")
    except ValueError:
        await _respond(send, 400, b'{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
        return
    model = str(body.get("model") or "fake")
    # Only names made of safe characters are echoed into the hand-built JSON chunks.
    safe_model = model if re.fullmatch(r"[\w:.,=/-]{1,200}", model) else "fake"
    params = resolve_params(scope.get("query_string", b""), scope.get("headers", []), model)
    prompt_tokens = max(1, len(json.dumps(body.get("messages") or [])) // 4)
    if body.get("stream"):
        await _stream(send, safe_model, params, prompt_tokens)
        return
    if params["ttft_ms"] or params["itl_ms"]:
        await asyncio.sleep((params["ttft_ms"] + params["itl_ms"] * max(params["tokens"] - 1, 0)) / 1000.0)
    tokens = params["tokens"]
    reply = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED, "model": safe_model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": expected_text(tokens)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens},
    }
    await _respond(send, 200, json.dumps(reply).encode())


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    STATS["requests"] += 1
    method, path = scope["method"], scope["path"]
    if method == "POST" and path.endswith("/chat/completions"):
        await _chat(scope, receive, send)
    elif method == "GET" and path.endswith("/models"):
        data = [{"id": "bench", "object": "model", "created": CREATED, "owned_by": "bench"}]
        await _respond(send, 200, json.dumps({"object": "list", "data": data}).encode())
    elif method == "GET" and path == "/hello":
        await _respond(send, 200, b"hello", [(b"content-type", b"text/plain")])
    elif method == "GET" and path == "/stats":
        await _respond(send, 200, json.dumps(STATS).encode())
    else:
        await _respond(send, 404, b'{"error":{"message":"no such route","type":"invalid_request_error"}}')


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft-ms", type=float, default=DEFAULTS["ttft_ms"])
    parser.add_argument("--itl-ms", type=float, default=DEFAULTS["itl_ms"])
    parser.add_argument("--tokens", type=int, default=DEFAULTS["tokens"])
    parser.add_argument("--chunk-tokens", type=int, default=DEFAULTS["chunk_tokens"])
    args = parser.parse_args(argv)
    DEFAULTS.update(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, tokens=args.tokens, chunk_tokens=max(args.chunk_tokens, 1))
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools", lifespan="on",
                log_level="warning", access_log=False, backlog=4096, timeout_keep_alive=60)


if __name__ == "__main__":
    main()
