"""What the model is sent (as the fake model servers received it): instructions, the
thread's history in order, tool turns, truncation, and the sampling options."""

from __future__ import annotations

import pytest

from conversations.tests.engine_support import *  # noqa: F401,F403 — cloud, ollama, wait_for, …
from testsupport.scenarios import Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _thread(sdk, *texts: str, role: str = "user"):
    return sdk.beta.threads.create(messages=[{"role": role, "content": t} for t in texts])


def _run(sdk, thread, assistant, **options):
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20,
                                                **options)
    assert run.status == "completed", run.last_error
    return run


def test_it_puts_instructions_and_additional_instructions_in_the_system_message(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", instructions="You are terse.")

    _run(sdk, _thread(sdk, "Hi"), assistant, additional_instructions="Answer in French.")

    assert cloud.requests[0]["messages"] == [
        {"role": "system", "content": "You are terse.\n\nAnswer in French."},
        {"role": "user", "content": "Hi"},
    ]


def test_it_lets_the_run_replace_the_assistants_instructions_and_model(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", instructions="You are terse.")

    _run(sdk, _thread(sdk, "Hi"), assistant, instructions="You are verbose.", model="cloud/fake-large")

    assert cloud.requests[0]["model"] == "fake-large"
    assert cloud.requests[0]["messages"][0] == {"role": "system", "content": "You are verbose."}


def test_it_sends_no_system_message_without_instructions(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")

    _run(sdk, _thread(sdk, "Hi"), assistant)

    assert cloud.requests[0]["messages"] == [{"role": "user", "content": "Hi"}]


def test_it_appends_additional_messages_to_the_thread_before_running(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = _thread(sdk, "first")

    _run(sdk, thread, assistant, additional_messages=[
        {"role": "user", "content": "second"}, {"role": "assistant", "content": "noted"},
        {"role": "user", "content": "third"}])

    assert cloud.requests[0]["messages"] == [
        {"role": "user", "content": "first"}, {"role": "user", "content": "second"},
        {"role": "assistant", "content": "noted"}, {"role": "user", "content": "third"}]
    stored = sdk.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [text_of(m) for m in stored] == ["first", "second", "noted", "third", "echo: third"]


def test_it_sends_the_whole_history_in_order_on_the_next_run(sdk, cloud):
    cloud.push(Reply(["Paris."]), Reply(["Rome."]))
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", instructions="Be brief.")
    thread = _thread(sdk, "Capital of France?")
    _run(sdk, thread, assistant)
    sdk.beta.threads.messages.create(thread.id, role="user", content="And Italy?")

    _run(sdk, thread, assistant)

    assert cloud.requests[1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And Italy?"},
    ]


def test_it_keeps_only_the_last_messages_when_asked(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", instructions="Be brief.")
    thread = _thread(sdk, "one", "two", "three", "four")

    _run(sdk, thread, assistant, truncation_strategy={"type": "last_messages", "last_messages": 2})

    assert cloud.requests[0]["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "three"},
        {"role": "user", "content": "four"}]


def test_it_drops_the_oldest_messages_beyond_max_prompt_tokens(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = _thread(sdk, "old " * 400, "recent question")

    _run(sdk, thread, assistant, max_prompt_tokens=256)

    assert cloud.requests[0]["messages"] == [{"role": "user", "content": "recent question"}]


def test_it_passes_the_sampling_options_and_formats_to_an_openai_server(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[WEATHER_TOOL], temperature=0.9)

    _run(sdk, _thread(sdk, "Hi"), assistant, temperature=0.3, top_p=0.5, max_completion_tokens=300,
         response_format={"type": "json_object"}, parallel_tool_calls=False,
         tool_choice={"type": "function", "function": {"name": "get_weather"}})

    sent = cloud.requests[0]
    assert {k: sent.get(k) for k in ("temperature", "top_p", "max_tokens", "response_format", "tool_choice",
                                     "parallel_tool_calls", "tools", "stream")} == {
        "temperature": 0.3, "top_p": 0.5, "max_tokens": 300, "response_format": {"type": "json_object"},
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": False,
        "tools": [WEATHER_TOOL], "stream": True}
    assert sent["stream_options"] == {"include_usage": True}


def test_it_takes_the_assistants_sampling_options_by_default(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", temperature=0.7, top_p=0.2,
                                           response_format={"type": "json_schema", "json_schema": {
                                               "name": "answer", "schema": {"type": "object"}}})

    _run(sdk, _thread(sdk, "Hi"), assistant)

    sent = cloud.requests[0]
    assert (sent["temperature"], sent["top_p"]) == (0.7, 0.2)
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "answer",
                                                                              "schema": {"type": "object"}}}
    assert "tools" not in sent and "tool_choice" not in sent and "max_tokens" not in sent


def test_it_sends_tool_choice_none_and_omits_auto(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[WEATHER_TOOL])

    _run(sdk, _thread(sdk, "Hi"), assistant, tool_choice="none")
    _run(sdk, _thread(sdk, "Hi"), assistant)

    assert cloud.requests[0]["tool_choice"] == "none"
    assert "tool_choice" not in cloud.requests[1]


def test_it_passes_the_options_to_ollama_in_its_own_shape(sdk, ollama):
    assistant = sdk.beta.assistants.create(model="local/llama3.1", instructions="Be brief.", tools=[WEATHER_TOOL])

    _run(sdk, _thread(sdk, "Hi"), assistant, temperature=0.3, top_p=0.5, max_completion_tokens=300,
         response_format={"type": "json_object"})

    sent = ollama.requests[0]
    assert sent["model"] == "llama3.1" and sent["stream"] is True
    assert sent["options"] == {"temperature": 0.3, "top_p": 0.5, "num_predict": 300}
    assert sent["format"] == "json"
    assert sent["tools"] == [WEATHER_TOOL]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_it_does_not_offer_ollama_the_tools_when_the_choice_is_none(sdk, ollama):
    assistant = sdk.beta.assistants.create(model="local/llama3.1", tools=[WEATHER_TOOL])

    _run(sdk, _thread(sdk, "Hi"), assistant, tool_choice="none")

    assert "tools" not in ollama.requests[0]


def test_it_tells_a_text_model_that_an_image_was_left_out(sdk, cloud):
    assistant = sdk.beta.assistants.create(model="cloud/fake-model")
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this? "},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])

    _run(sdk, thread, assistant)

    assert cloud.requests[0]["messages"] == [
        {"role": "user", "content": "What is this? [image omitted: this backend receives text only]"}]
