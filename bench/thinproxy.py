"""The Python floor: a raw-ASGI pass-through to the model server, bytes streamed as they come.

    python -m bench.thinproxy --port 9200 --upstream http://127.0.0.1:9100

Same outbound client as Entities (one httpx.AsyncClient, pool as large as Entities' default
INFERENCE_MAX_CONNECTIONS), no framework, no parsing: whatever Entities costs above this is
Django, the run engine and re-encoding, not "a Python hop".
"""

from __future__ import annotations

import argparse

import httpx

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host", b"upgrade"}
MAX_CONNECTIONS = 2000
client: httpx.AsyncClient | None = None


async def app(scope, receive, send) -> None:
    global client
    if scope["type"] != "http":
        return
    if client is None:
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
                                   timeout=httpx.Timeout(120.0, connect=5.0))
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    url = UPSTREAM + scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
    headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
    request = client.build_request(scope["method"], url, headers=headers, content=body)
    try:
        upstream = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": f"upstream failed: {exc!r}".encode()})
        return
    try:
        await send({"type": "http.response.start", "status": upstream.status_code,
                    "headers": [(k, v) for k, v in upstream.headers.raw if k.lower() not in HOP_BY_HOP]})
        async for chunk in upstream.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await upstream.aclose()


UPSTREAM = "http://127.0.0.1:9100"


def main(argv: list[str] | None = None) -> None:
    global UPSTREAM
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the model server's origin, e.g. http://127.0.0.1:9100")
    args = parser.parse_args(argv)
    UPSTREAM = args.upstream.rstrip("/")
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools", lifespan="off",
                log_level="warning", access_log=False, backlog=4096, timeout_keep_alive=60)


if __name__ == "__main__":
    main()
