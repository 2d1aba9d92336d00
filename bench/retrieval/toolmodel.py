"""A fake OpenAI-compatible model that makes one tool round: raw ASGI under uvicorn, on loopback.

    python -m bench.retrieval.toolmodel --port 9101 [--tokens 8]

`POST /v1/chat/completions` (streamed only). A turn whose last message is not a tool result
calls a tool: `file_search` with the last user message as the query when the request
offers it, else the first offered function (`get_flight_times` gets JFK → LAX), else no
tool at all (it answers straight away). A turn after a tool result streams the text
``w0 w1 …`` (``bench.fakeoai.expected_text``) so the client can check the reply. The tool
call arrives as one chunk, the answer as one chunk per token: both turns cost the same
whatever the tool, so what a run's first token waits for beyond the control is the tool.
`GET /stats` counts the turns of each kind (and answers for readiness).
"""

from __future__ import annotations

import argparse
import json

from bench.fakeoai import _JSON_HEADERS, _SSE_HEADERS, CREATED, _body, _respond, token_text

DEFAULT_TOKENS = 8
STATS = {"requests": 0, "tool_turns": 0, "answer_turns": 0, "no_tool_turns": 0}
TOOL_ARGUMENTS = {"get_flight_times": {"departure": "JFK", "arrival": "LAX"}}


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    event = {"id": "chatcmpl-toolbench", "object": "chat.completion.chunk", "created": CREATED, "model": "toolbench",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


def _tail(prompt_tokens: int, completion_tokens: int) -> bytes:
    usage = {"id": "chatcmpl-toolbench", "object": "chat.completion.chunk", "created": CREATED, "model": "toolbench",
             "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                      "total_tokens": prompt_tokens + completion_tokens}}
    return f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode()


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def plan(body: dict) -> tuple[str, dict] | None:
    """The tool call this turn makes, as (name, arguments), or None when it answers with text."""
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return None
    names = [(t.get("function") or {}).get("name") for t in body.get("tools") or []]
    if not names:
        return None
    if "file_search" in names:
        query = next((_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        return "file_search", {"query": query or "anything"}
    return names[0], TOOL_ARGUMENTS.get(names[0], {})


def turn(body: dict, tokens: int) -> list[bytes]:
    """The SSE body of one streamed turn (a tool call, or the text answer)."""
    prompt_tokens = max(1, len(json.dumps(body.get("messages") or [])) // 4)
    call = plan(body)
    if call is not None:
        STATS["tool_turns"] += 1
        name, arguments = call
        delta = {"role": "assistant", "content": None, "tool_calls": [{
            "index": 0, "id": f"call_bench{STATS['requests']}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}]}
        return [_chunk(delta), _chunk({}, "tool_calls"), _tail(prompt_tokens, 10)]
    messages = body.get("messages") or []
    STATS["answer_turns" if messages and messages[-1].get("role") == "tool" else "no_tool_turns"] += 1
    parts = [_chunk({"role": "assistant", "content": token_text(0)} if i == 0 else {"content": token_text(i)})
             for i in range(tokens)]
    return parts + [_chunk({}, "stop"), _tail(prompt_tokens, tokens)]


def make_app(tokens: int):
    """The ASGI app, answering ``tokens`` tokens after a tool round."""

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":  # served with lifespan off
            return
        STATS["requests"] += 1
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                body = json.loads(await _body(receive) or b"{}")
            except ValueError:
                await _respond(send, 400, b'{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
                return
            if not body.get("stream"):
                await _respond(send, 400, b'{"error":{"message":"this fake only streams",'
                                          b'"type":"invalid_request_error"}}')
                return
            parts = turn(body, tokens)
            await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
            for i, part in enumerate(parts):
                await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})
        elif method == "GET" and path == "/stats":
            await _respond(send, 200, json.dumps(STATS).encode())
        else:
            await _respond(send, 404, b'{"error":{"message":"no such route","type":"invalid_request_error"}}')

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS)
    args = parser.parse_args(argv)
    uvicorn.run(make_app(max(1, args.tokens)), host=args.host, port=args.port, loop="uvloop", http="httptools",
                lifespan="off", log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
