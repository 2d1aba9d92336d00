"""Reasoning text from thinking models comes as ReasoningDelta, never inside the reply's text."""

from __future__ import annotations

import pytest
from django.test import override_settings

from inference.backends.ollama import OllamaBackend
from inference.backends.openai_compat import OpenAICompatBackend
from inference.backends.think_tags import ThinkTagSplitter
from inference.events import Finish, ReasoningDelta, TextDelta, Usage
from inference.tests.helpers import chat, collect
from testsupport.scenarios import Reply, ToolCalls


@pytest.mark.usefixtures("cloud_settings")
async def test_it_reads_reasoning_content_as_vllm_and_llama_cpp_send_it(fake_openai):
    fake_openai.push(Reply(["It is ", "4."], reasoning=["2 plus 2", " is 4"], usage=(5, 6, 2)))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [ReasoningDelta("2 plus 2"), ReasoningDelta(" is 4"), TextDelta("It is "), TextDelta("4."),
                      Usage(5, 6, 2), Finish("stop")]


@pytest.mark.usefixtures("cloud_settings")
async def test_it_reads_reasoning_as_openrouter_and_lm_studio_send_it(fake_openai):
    fake_openai.push(Reply(["Yes."], reasoning=["Let me think."], reasoning_field="reasoning", usage=(3, 2)))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [ReasoningDelta("Let me think."), TextDelta("Yes."), Usage(3, 2), Finish("stop")]


@pytest.mark.usefixtures("cloud_settings")
async def test_it_reads_reasoning_before_a_tool_call(fake_openai):
    fake_openai.push(ToolCalls([("get_weather", "{}")], reasoning=["I need the weather."]))

    events = await collect(OpenAICompatBackend(), chat())

    assert events[0] == ReasoningDelta("I need the weather.")
    assert not [e for e in events if isinstance(e, TextDelta)]
    assert events[-2:] == [Usage(2, 3, 1), Finish("tool_calls")]


@pytest.mark.usefixtures("cloud_settings")
async def test_it_sends_no_reasoning_for_a_model_that_does_not_think(fake_openai):
    fake_openai.push(Reply(["Hi"], usage=(1, 1)))

    events = await collect(OpenAICompatBackend(), chat())

    assert events == [TextDelta("Hi"), Usage(1, 1), Finish("stop")]


@pytest.mark.usefixtures("ollama_settings")
async def test_it_reads_ollamas_thinking(fake_ollama):
    fake_ollama.push(Reply(["Four."], reasoning=["Two and ", "two."], usage=(4, 3)))

    events = await collect(OllamaBackend(), chat())

    assert events == [ReasoningDelta("Two and "), ReasoningDelta("two."), TextDelta("Four."), Usage(4, 3), Finish("stop")]


TAGGED = ["<think>Two", " and two</th", "ink>\n\nFour", "."]


@pytest.mark.usefixtures("cloud_settings")
async def test_it_leaves_think_tags_in_the_text_by_default(fake_openai):
    fake_openai.push(Reply(TAGGED, usage=(1, 4)))

    events = await collect(OpenAICompatBackend(), chat())

    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta(piece) for piece in TAGGED]


@pytest.mark.usefixtures("cloud_settings")
async def test_it_splits_think_tags_when_asked(fake_openai):
    fake_openai.push(Reply(TAGGED, usage=(1, 4)))

    with override_settings(ENTITIES_THINK_TAGS=True):
        events = await collect(OpenAICompatBackend(), chat())

    assert events == [ReasoningDelta("Two"), ReasoningDelta(" and two"), TextDelta("Four"), TextDelta("."),
                      Usage(1, 4), Finish("stop")]


@pytest.mark.usefixtures("ollama_settings")
async def test_it_splits_think_tags_from_ollama_when_asked(fake_ollama):
    fake_ollama.push(Reply(["<think>Hm", "m</think>", "Yes"], usage=(1, 3)))

    with override_settings(ENTITIES_THINK_TAGS=True):
        events = await collect(OllamaBackend(), chat())

    assert events == [ReasoningDelta("Hm"), ReasoningDelta("m"), TextDelta("Yes"), Usage(1, 3), Finish("stop")]


@pytest.mark.parametrize(("pieces", "expected"), [
    (["<", "p>hi</p>"], [TextDelta("<p>hi</p>")]),
    (["Sure: <think>x</think>"], [TextDelta("Sure: <think>x</think>")]),
    (["<think>cut short"], [ReasoningDelta("cut short")]),
    (["  <think>a</think>b"], [ReasoningDelta("a"), TextDelta("b")]),
])
def test_the_splitter_only_takes_a_think_block_at_the_start(pieces, expected):
    splitter = ThinkTagSplitter()

    events = [event for piece in pieces for event in splitter.feed(piece)] + splitter.flush()

    assert events == expected
