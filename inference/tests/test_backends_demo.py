"""The built-in demo backend: deterministic, labelled, and able to call tools."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from django.test import override_settings

from inference.backends.demo import BANNER, DemoBackend
from inference.events import ChatRequest, Finish, TextDelta, ToolCallDelta, Usage
from inference.tests.helpers import collect, reassemble

pytestmark = pytest.mark.usefixtures("no_delay")

CODE_TOOL = {"type": "function", "function": {"name": "code_interpreter", "parameters": {"type": "object", "properties": {"code": {"type": "string"}}}}}
FLIGHTS_TOOL = {"type": "function", "function": {"name": "get_flight_times", "parameters": {"type": "object", "properties": {"departure": {}, "arrival": {}}}}}
PREFIXES_TOOL = {"type": "function", "function": {"name": "getAnnouncedPrefixes", "parameters": {"type": "object", "properties": {"resource": {}}}}}
OTHER_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {}}}}}


@pytest.fixture
def no_delay():
    with override_settings(DEMO_TOKEN_DELAY=0):
        yield


def ask(model: str, text: str, **options) -> ChatRequest:
    return ChatRequest(model=model, messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": text}], **options)


async def called(text: str, tools: list[dict], **options) -> dict[int, tuple[str | None, str]]:
    events = await collect(DemoBackend(), ask("tools", text, tools=tools, **options))
    assert events[-1] == Finish("tool_calls")
    return {i: (name, json.loads(arguments)) for i, (name, arguments) in reassemble(events).items()}


async def test_it_echoes_with_a_clear_demo_label_word_by_word():
    events = await collect(DemoBackend(), ask("echo", "hello world"))

    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert text.startswith(f"{BANNER} You said: hello world\n\n- ")
    assert "`OLLAMA_HOST`" in text
    assert all(len(d.text.split()) == 1 for d in deltas)
    assert events[-2:] == [Usage(4, len(deltas)), Finish("stop")]


async def test_it_is_deterministic():
    first = await collect(DemoBackend(), ask("echo", "same"))
    second = await collect(DemoBackend(), ask("echo", "same"))

    assert first == second


async def test_it_stops_at_max_tokens_with_a_length_finish():
    events = await collect(DemoBackend(), ask("echo", "hi", max_tokens=3))

    assert events == [TextDelta("🧪"), TextDelta(" Demo"), TextDelta(" backend"), Usage(3, 3), Finish("length")]


async def test_an_unknown_demo_model_answers_like_echo():
    assert await collect(DemoBackend(), ask("nonsense", "hi")) == await collect(DemoBackend(), ask("echo", "hi"))


async def test_the_tools_model_without_tools_answers_like_echo():
    assert await collect(DemoBackend(), ask("tools", "hi")) == await collect(DemoBackend(), ask("echo", "hi"))


async def test_it_runs_the_fenced_python_the_user_wrote():
    text = "Please run this:\n```python\nprint(sum(range(10)))\n```"

    assert await called(text, [CODE_TOOL]) == {0: ("code_interpreter", {"code": "print(sum(range(10)))"})}


async def test_it_runs_a_default_snippet_without_fenced_code():
    assert await called("compute something", [CODE_TOOL]) == {0: ("code_interpreter", {"code": "print(1 + 1)"})}


async def test_it_picks_the_tool_the_user_names():
    text = "use getAnnouncedPrefixes for as3320 please"

    assert await called(text, [CODE_TOOL, PREFIXES_TOOL]) == {0: ("getAnnouncedPrefixes", {"resource": "AS3320"})}


async def test_it_defaults_the_announced_prefixes_resource():
    assert await called("prefixes?", [PREFIXES_TOOL]) == {0: ("getAnnouncedPrefixes", {"resource": "AS3333"})}


async def test_it_reads_airport_codes_for_flight_times():
    assert await called("flights from CDG to NRT", [FLIGHTS_TOOL]) == {0: ("get_flight_times", {"departure": "CDG", "arrival": "NRT"})}
    assert await called("any flights?", [FLIGHTS_TOOL]) == {0: ("get_flight_times", {"departure": "JFK", "arrival": "LAX"})}


async def test_it_passes_a_json_object_from_the_text_to_other_tools():
    assert await called('lookup {"q": "entities"} now', [OTHER_TOOL]) == {0: ("lookup", {"q": "entities"})}
    assert await called("lookup nothing", [OTHER_TOOL]) == {0: ("lookup", {})}


async def test_it_honours_a_forced_tool_choice():
    choice = {"type": "function", "function": {"name": "get_flight_times"}}

    assert (await called("getAnnouncedPrefixes", [PREFIXES_TOOL, FLIGHTS_TOOL], tool_choice=choice))[0][0] == "get_flight_times"


async def test_it_does_not_call_tools_when_told_not_to():
    events = await collect(DemoBackend(), ask("tools", "hi", tools=[CODE_TOOL], tool_choice="none"))

    assert events[-1] == Finish("stop")


async def test_it_streams_tool_arguments_in_fragments_with_the_id_first():
    events = await collect(DemoBackend(), ask("tools", "go", tools=[CODE_TOOL]))

    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(deltas) in (2, 3)
    assert deltas[0].id.startswith("call_") and deltas[0].name == "code_interpreter"
    assert [(d.id, d.name) for d in deltas[1:]] == [(None, None)] * (len(deltas) - 1)


async def test_it_reports_what_the_tool_returned():
    messages = [
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "code_interpreter", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "x" * 600},
    ]

    events = await collect(DemoBackend(), ChatRequest(model="tools", messages=messages, tools=[CODE_TOOL]))

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "(demo) The tool returned: " + "x" * 500
    assert events[-1] == Finish("stop")


async def test_the_slow_model_can_be_stopped_between_words():
    first = asyncio.Event()

    async def consume():
        async for _ in DemoBackend().stream(ask("slow", "hi")):
            first.set()

    started = time.monotonic()
    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0.2 < time.monotonic() - started < 1


async def test_it_always_lists_its_three_models():
    assert await DemoBackend().list_models() == [
        {"id": "demo/echo", "object": "model", "created": 0, "owned_by": "demo"},
        {"id": "demo/slow", "object": "model", "created": 0, "owned_by": "demo"},
        {"id": "demo/tools", "object": "model", "created": 0, "owned_by": "demo"},
    ]
