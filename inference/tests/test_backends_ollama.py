"""The Ollama backend against a fake Ollama speaking real HTTP (NDJSON)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import pytest
from django.test import override_settings

from inference.backends.ollama import OllamaBackend, ollama_url
from inference.events import ChatRequest, Finish, StreamError, TextDelta, ToolCallDelta, Usage
from inference.tests.helpers import chat, collect, reassemble, refused_url
from testsupport.scenarios import Disconnect, Hang, HttpError, Malformed, Reply, ToolCalls

pytestmark = pytest.mark.usefixtures("ollama_settings")


async def test_it_streams_text_then_usage_then_finish(fake_ollama):
    fake_ollama.push(Reply(["Hel", "lo"], usage=(4, 2)))

    events = await collect(OllamaBackend(), chat())

    assert events == [TextDelta("Hel"), TextDelta("lo"), Usage(4, 2), Finish("stop")]


async def test_it_reports_a_length_finish(fake_ollama):
    fake_ollama.push(Reply(["cut"], finish="length"))

    events = await collect(OllamaBackend(), chat())

    assert events[-1] == Finish("length")


async def test_it_turns_a_whole_tool_call_into_one_delta(fake_ollama):
    fake_ollama.push(ToolCalls([("get_weather", '{"city": "Paris"}')], usage=(9, 4)))

    events = await collect(OllamaBackend(), chat())

    call = events[0]
    assert isinstance(call, ToolCallDelta) and call.id.startswith("call_")
    assert events == [ToolCallDelta(0, call.id, "get_weather", '{"city": "Paris"}'), Usage(9, 4), Finish("tool_calls")]


async def test_it_numbers_parallel_tool_calls(fake_ollama):
    fake_ollama.push(ToolCalls([("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "UTC"}')], text="One moment."))

    events = await collect(OllamaBackend(), chat())

    assert events[0] == TextDelta("One")
    assert {i: (name, json.loads(args)) for i, (name, args) in reassemble(events).items()} == {
        0: ("get_weather", {"city": "Paris"}),
        1: ("get_time", {"tz": "UTC"}),
    }
    assert events[-1] == Finish("tool_calls")


async def test_it_sends_ollamas_request_shape(fake_ollama):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]
    request = ChatRequest(
        model="llama3.1",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "not json"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
        ],
        tools=tools, tool_choice="auto", temperature=0.2, top_p=0.9, max_tokens=64, response_format={"type": "json_object"},
    )

    await collect(OllamaBackend(), request)

    assert fake_ollama.requests == [
        {
            "model": "llama3.1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"function": {"name": "get_weather", "arguments": {}}},
                ]},
                {"role": "tool", "content": "18 C", "tool_name": "get_weather"},
            ],
            "stream": True,
            "tools": tools,
            "options": {"temperature": 0.2, "top_p": 0.9, "num_predict": 64},
            "format": "json",
        }
    ]


async def test_it_sends_a_json_schema_as_the_format_and_leaves_out_unset_options(fake_ollama):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    request = chat("hi", response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}})

    await collect(OllamaBackend(), request)

    assert fake_ollama.requests == [
        {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True, "format": schema}
    ]


async def test_it_suggests_pulling_a_missing_model(fake_ollama):
    fake_ollama.push(HttpError(404, '{"error": "model \\"llama9\\" not found, try pulling it first"}'))

    events = await collect(OllamaBackend(), chat(model="llama9"))

    assert events == [
        StreamError(
            f'the model server at {fake_ollama.url} answered HTTP 404: model "llama9" not found, try pulling it first'
            " — pull it with `ollama pull llama9`"
        )
    ]


async def test_it_reports_an_http_error_with_its_body(fake_ollama):
    fake_ollama.push(HttpError(500, '{"error": "out of memory"}'))

    events = await collect(OllamaBackend(), chat())

    assert events == [StreamError(f"the model server at {fake_ollama.url} answered HTTP 500: out of memory")]


async def test_it_gives_up_on_a_server_that_stops_sending(fake_ollama):
    fake_ollama.push(Hang(after_chunks=1))
    started = time.monotonic()

    events = await collect(OllamaBackend(), chat())

    assert events == [
        TextDelta("echo:"),
        StreamError(f"the model server at {fake_ollama.url} stopped sending for 0.3 s (INFERENCE_READ_TIMEOUT)"),
    ]
    assert time.monotonic() - started < 2
    assert await fake_ollama.await_disconnect()


async def test_it_reports_a_connection_dropped_mid_reply(fake_ollama):
    fake_ollama.push(Disconnect(after_chunks=2))

    events = await collect(OllamaBackend(), chat())

    assert events == [
        TextDelta("echo:"),
        TextDelta(" hi"),
        StreamError(f"the model server at {fake_ollama.url} closed the connection mid-reply"),
    ]


async def test_it_reports_a_malformed_chunk(fake_ollama):
    fake_ollama.push(Malformed(after_chunks=1))

    events = await collect(OllamaBackend(), chat())

    assert events == [TextDelta("echo:"), StreamError(f"the model server at {fake_ollama.url} sent a malformed chunk: this is not json {{")]


async def test_it_explains_how_to_start_ollama_when_nothing_listens():
    url = refused_url()
    with override_settings(OLLAMA_HOST=url):
        events = await collect(OllamaBackend(), chat())

    assert events == [StreamError(f"no model server answered at {url} — start Ollama (`ollama serve`) or set OLLAMA_HOST")]


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("http://[::1]:11434/", "http://[::1]:11434"),
        ("https://ollama.example.com", "https://ollama.example.com"),
        ("http://10.0.0.5/ollama", "http://10.0.0.5:11434/ollama"),
    ],
)
def test_it_reads_ollama_host_as_ollama_does(value, url):
    assert ollama_url(value) == url


async def test_it_accepts_a_host_without_a_scheme(fake_ollama):
    with override_settings(OLLAMA_HOST=fake_ollama.url.removeprefix("http://")):
        events = await collect(OllamaBackend(), chat())

    assert events[-1] == Finish("stop")


async def test_it_explains_a_host_that_is_not_a_url():
    with override_settings(OLLAMA_HOST="ftp://files.example.com"):
        events = await collect(OllamaBackend(), chat())

    assert events == [StreamError("'ftp://files.example.com' is not a usable http(s) URL — start Ollama (`ollama serve`) or set OLLAMA_HOST")]


async def test_cancelling_the_consumer_closes_the_upstream_connection(fake_ollama):
    fake_ollama.push(Reply(["tick "] * 200, delay=0.02))
    first = asyncio.Event()

    async def consume():
        async for event in OllamaBackend().stream(chat()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake_ollama.await_disconnect(timeout=2)


async def test_it_lists_models_with_the_routing_prefix(fake_ollama):
    created = int(datetime.fromisoformat("2024-05-01T10:00:00.123456+00:00").timestamp())

    models = await OllamaBackend().list_models()

    assert models == [
        {"id": "local/llama3.1:latest", "object": "model", "created": created, "owned_by": "local"},
        {"id": "local/qwen2.5:7b", "object": "model", "created": created, "owned_by": "local"},
    ]


async def test_it_lists_nothing_when_unreachable():
    with override_settings(OLLAMA_HOST=refused_url()):
        assert await OllamaBackend().list_models() == []
