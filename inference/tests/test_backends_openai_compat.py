"""The OpenAI-compatible backend against a fake server speaking real HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from django.test import override_settings

from inference.backends.openai_compat import LocalOpenAICompatBackend, OpenAICompatBackend
from inference.events import Finish, StreamError, TextDelta, ToolCallDelta, Usage
from inference.factory import InferenceFactory
from inference.tests.helpers import chat, collect, reassemble, refused_url
from testsupport.fake_openai import CREATED
from testsupport.scenarios import Disconnect, Hang, HttpError, Malformed, RawStream, Reply, ToolCalls

pytestmark = pytest.mark.usefixtures("cloud_settings")


async def test_it_streams_text_then_usage_then_finish(fake_openai):
    fake_openai.push(Reply(["Hel", "lo", " world"], usage=(7, 3)))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" world"), Usage(7, 3), Finish("stop")]


async def test_it_echoes_when_nothing_is_queued(fake_openai):
    events = await collect(OpenAICompatBackend(), chat("hi there"))

    assert events == [TextDelta("echo:"), TextDelta(" hi"), TextDelta(" there"), Usage(2, 3), Finish("stop")]


async def test_it_reports_a_length_finish(fake_openai):
    fake_openai.push(Reply(["cut"], finish="length"))

    events = await collect(OpenAICompatBackend(), chat())

    assert events[-1] == Finish("length")


async def test_it_streams_a_tool_call_in_fragments(fake_openai):
    arguments = '{"city": "Paris", "unit": "celsius"}'
    fake_openai.push(ToolCalls([("get_weather", arguments)], fragment_size=4))

    events = await collect(OpenAICompatBackend(), chat())

    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) > 3
    assert deltas[0].id.startswith("call_") and deltas[0].name == "get_weather"
    assert all(d.id is None and d.name is None for d in deltas[1:])
    assert reassemble(events) == {0: ("get_weather", arguments)}
    assert json.loads(reassemble(events)[0][1]) == {"city": "Paris", "unit": "celsius"}
    assert events[-1] == Finish("tool_calls")


async def test_it_streams_parallel_tool_calls(fake_openai):
    fake_openai.push(ToolCalls([("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "Europe/Paris"}')], text="Checking."))

    events = await collect(OpenAICompatBackend(), chat())

    assert events[0] == TextDelta("Checking.")
    assert reassemble(events) == {0: ("get_weather", '{"city": "Paris"}'), 1: ("get_time", '{"tz": "Europe/Paris"}')}
    assert isinstance(events[-2], Usage) and events[-1] == Finish("tool_calls")


async def test_it_passes_the_set_parameters_through(fake_openai):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]
    request = chat(
        "hello", tools=tools, tool_choice="auto", parallel_tool_calls=False, temperature=0.2, top_p=0.9,
        max_tokens=64, response_format={"type": "json_object"},
    )

    await collect(OpenAICompatBackend(), request)

    assert fake_openai.requests == [
        {
            "model": "fake-model",
            "messages": [{"role": "user", "content": "hello"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 64,
            "response_format": {"type": "json_object"},
        }
    ]


async def test_it_leaves_out_what_was_not_set(fake_openai):
    # tool_choice without tools is an error on most servers.
    await collect(OpenAICompatBackend(), chat("hello", tool_choice="auto", parallel_tool_calls=True))

    assert fake_openai.requests == [
        {"model": "fake-model", "messages": [{"role": "user", "content": "hello"}], "stream": True, "stream_options": {"include_usage": True}}
    ]


async def test_it_sends_the_api_key(fake_openai):
    fake_openai.api_key = "sk-test"

    events = await collect(OpenAICompatBackend(), chat())

    assert events[-1] == Finish("stop")
    assert fake_openai.log[-1].headers["authorization"] == "Bearer sk-test"


async def test_it_says_to_check_the_key_when_it_is_refused(fake_openai):
    fake_openai.api_key = "sk-other"

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [
        StreamError(f"the model server at {fake_openai.url} answered HTTP 401: Incorrect API key provided. — check OPENAI_API_KEY")
    ]


async def test_it_reports_an_http_error_with_its_body(fake_openai):
    fake_openai.push(HttpError(500, "upstream exploded"))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [StreamError(f"the model server at {fake_openai.url} answered HTTP 500: upstream exploded")]


async def test_it_reports_a_rate_limit_with_its_code(fake_openai):
    fake_openai.push(HttpError(429, '{"error": {"message": "slow down"}}'))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [StreamError(f"the model server at {fake_openai.url} answered HTTP 429: slow down", code="rate_limit_exceeded")]


async def test_it_gives_up_on_a_server_that_stops_sending(fake_openai):
    fake_openai.push(Hang(after_chunks=1))
    started = time.monotonic()

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [
        TextDelta("echo:"),
        StreamError(f"the model server at {fake_openai.url} stopped sending for 0.3 s (INFERENCE_READ_TIMEOUT)"),
    ]
    assert time.monotonic() - started < 2
    assert await fake_openai.await_disconnect()


async def test_it_reports_a_connection_dropped_mid_reply(fake_openai):
    fake_openai.push(Disconnect(after_chunks=2))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [
        TextDelta("echo:"),
        TextDelta(" hi"),
        StreamError(f"the model server at {fake_openai.url} closed the connection mid-reply"),
    ]


async def test_it_reports_a_malformed_chunk(fake_openai):
    fake_openai.push(Malformed(after_chunks=1))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [TextDelta("echo:"), StreamError(f"the model server at {fake_openai.url} sent a malformed chunk: this is not json {{")]


def _chunk(delta: dict, finish: str | None = None) -> str:
    return json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": CREATED, "model": "m",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


async def test_it_reads_sse_framing_that_servers_vary(fake_openai):
    # Comments, event/id lines, CRLF line ends, no space after "data:", and one event's JSON
    # split over two data lines (the SSE format joins them with a newline).
    text = json.dumps({"id": "c1", "object": "chat.completion.chunk", "created": CREATED, "model": "m",
                       "choices": [{"index": 0, "delta": {"content": "two"}, "finish_reason": None}]}, indent=1)
    first, rest = text.split("\n", 1)
    body = (": keep-alive\r\n\r\n"
            f"event: message\r\nid: 1\r\ndata:{_chunk({'content': 'one '})}\r\n\r\n"
            f"data: {first}\ndata: {rest.replace(chr(10), '')}\n\n"
            f"data: {_chunk({}, 'stop')}\n\n"
            'data: {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
            "data: [DONE]\n\n")
    fake_openai.push(RawStream(body.encode()))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [TextDelta("one "), TextDelta("two"), Usage(3, 2), Finish("stop")]


async def test_it_reports_an_error_event_in_the_stream(fake_openai):
    body = (f"data: {_chunk({'content': 'par'})}\n\n"
            'data: {"error": {"message": "the model ran out of memory", "type": "server_error"}}\n\n')
    fake_openai.push(RawStream(body.encode()))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [TextDelta("par"), StreamError(
        f"the model server at {fake_openai.url} reported an error: the model ran out of memory")]


async def test_it_reports_a_chunk_that_is_not_an_object(fake_openai):
    fake_openai.push(RawStream(b"data: [1, 2]\n\n"))

    (event,) = await collect(OpenAICompatBackend(), chat())

    assert isinstance(event, StreamError) and "sent a malformed chunk" in event.message


async def test_consecutive_replies_reuse_one_connection(fake_openai):
    backend = OpenAICompatBackend()
    for _ in range(3):
        assert (await collect(backend, chat()))[-1] == Finish("stop")

    peers = {request.client for request in fake_openai.log if request.path == "/v1/chat/completions"}
    assert len(peers) == 1, f"each reply opened a new connection: {peers}"


async def test_it_explains_that_nothing_listens():
    url = refused_url() + "/v1"
    with override_settings(OPENAI_BASE_URL=url):
        events = await collect(OpenAICompatBackend(), chat())

    assert events == [StreamError(f"no model server answered at {url} — check OPENAI_BASE_URL and the network")]


async def test_it_asks_for_an_api_key_before_calling_the_cloud(fake_openai):
    with override_settings(OPENAI_API_KEY=""):
        backend = OpenAICompatBackend()
        events = await collect(backend, chat())
        models = await backend.list_models()

    assert events == [
        StreamError(
            "cloud inference needs OPENAI_API_KEY — set it (and OPENAI_BASE_URL for a provider other than OpenAI), "
            "or pick a local/ or demo/ model"
        )
    ]
    assert models == []
    assert fake_openai.log == []


async def test_cancelling_the_consumer_closes_the_upstream_connection(fake_openai):
    fake_openai.push(Reply(["tick "] * 200, delay=0.02))
    first = asyncio.Event()

    async def consume():
        async for event in OpenAICompatBackend().stream(chat()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake_openai.await_disconnect(timeout=2)


async def test_it_lists_models_with_the_routing_prefix(fake_openai):
    models = await OpenAICompatBackend().list_models()

    assert models == [
        {"id": "cloud/fake-model", "object": "model", "created": CREATED, "owned_by": "cloud"},
        {"id": "cloud/fake-large", "object": "model", "created": CREATED, "owned_by": "cloud"},
    ]


async def test_it_lists_nothing_when_unreachable():
    with override_settings(OPENAI_BASE_URL=refused_url() + "/v1"):
        assert await OpenAICompatBackend().list_models() == []


async def test_it_serves_as_the_local_backend_when_configured(fake_openai):
    with override_settings(LOCAL_OPENAI_BASE_URL=fake_openai.url):
        backend = InferenceFactory.get_inference("local")
        events = await collect(backend, chat())
        models = await backend.list_models()
        described = backend.describe()

    assert isinstance(backend, LocalOpenAICompatBackend)
    assert described == {"type": "local", "url": fake_openai.url, "protocol": "openai", "api_key_set": True}
    assert events[-1] == Finish("stop")
    assert [m["id"] for m in models] == ["local/fake-model", "local/fake-large"]
    assert fake_openai.log[0].headers["authorization"] == "Bearer not-needed"


def test_it_works_from_several_event_loops(fake_openai):
    # One backend instance, two loops (Daphne's and async_to_sync's, say): each gets its own client.
    backend = OpenAICompatBackend()

    first = asyncio.run(collect(backend, chat()))
    second = asyncio.run(collect(backend, chat()))

    assert first == second
    assert first[-1] == Finish("stop")
