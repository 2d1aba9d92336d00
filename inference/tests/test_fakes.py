"""The fake model servers and ThreadedUvicorn, as other tests rely on them."""

from __future__ import annotations

import httpx
import openai

from testsupport.asgi_server import ThreadedUvicorn
from testsupport.scenarios import Hang, Reply, ToolCalls


async def hello_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_threaded_uvicorn_serves_any_asgi_app_until_stopped():
    with ThreadedUvicorn(hello_app) as server:
        assert httpx.get(server.url).text == "hello"
    try:
        httpx.get(server.url, timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the server still answers after stop()")


def test_the_openai_fake_answers_without_streaming_too(fake_openai):
    fake_openai.push(Reply(["Hel", "lo"], usage=(3, 2)), ToolCalls([("f", '{"a": 1}')]))
    client = openai.OpenAI(base_url=fake_openai.url, api_key="x", max_retries=0)

    text = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    tools = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    assert (text.choices[0].message.content, text.usage.prompt_tokens, text.usage.completion_tokens) == ("Hello", 3, 2)
    call = tools.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments, tools.choices[0].finish_reason) == ("f", '{"a": 1}', "tool_calls")


def test_the_ollama_fake_answers_without_streaming_too(fake_ollama):
    response = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "m", "stream": False, "messages": [{"role": "user", "content": "yo"}]})

    body = response.json()
    assert (body["message"]["content"], body["done"], body["eval_count"]) == ("echo: yo", True, 2)


def test_a_disconnect_left_over_from_before_reset_is_not_counted(fake_openai):
    fake_openai.push(Hang())
    with httpx.Client(timeout=httpx.Timeout(5, read=0.2)) as client:
        try:
            client.post(f"{fake_openai.url}/chat/completions", json={"model": "m", "stream": True, "messages": []})
        except httpx.ReadTimeout:
            pass
        fake_openai.reset()
    # The hang ends only now that the client is gone; it belongs to the previous test.
    assert not fake_openai.wait_for_disconnect(timeout=0.3)
