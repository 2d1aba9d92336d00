"""The function registry: registration, ENTITIES_FUNCTIONS loading and execute_function."""

from __future__ import annotations

import asyncio
import json
import time

import jsonschema
import pytest
from django.core.exceptions import ImproperlyConfigured

from inference import registry
from inference.registry import (
    FunctionSpec,
    ToolOutcome,
    execute_function,
    function_tool_definition,
    get_function,
    register_function,
    registered_functions,
)

NUMBER_SCHEMA = {
    "type": "object",
    "properties": {"x": {"type": "number"}, "label": {"type": "string", "maxLength": 5}},
    "required": ["x"],
}


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch, settings):
    """Each test starts from an empty, not-yet-loaded registry (the real one is restored after)."""
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_loaded", False)
    settings.ENTITIES_FUNCTIONS = []
    settings.ENTITIES_FUNCTION_TIMEOUT = 5.0


def test_it_lists_the_seed_functions():
    names = [spec.name for spec in registered_functions()]

    assert names[:2] == ["get_flight_times", "getAnnouncedPrefixes"]


def test_it_describes_a_function_as_an_openai_tool():
    assert function_tool_definition(get_function("get_flight_times")) == {
        "type": "function",
        "function": {
            "name": "get_flight_times",
            "description": "Get the flight time between two airports, given their IATA codes.",
            "parameters": {
                "type": "object",
                "properties": {
                    "departure": {"type": "string", "description": "IATA code of the departure airport, e.g. JFK"},
                    "arrival": {"type": "string", "description": "IATA code of the arrival airport, e.g. LAX"},
                },
                "required": ["departure", "arrival"],
                "additionalProperties": False,
            },
        },
    }


def test_it_registers_with_the_decorator_and_takes_the_docstring_as_description():
    @register_function(parameters=NUMBER_SCHEMA, timeout=3)
    def double(x: float) -> float:
        """Double a number."""
        return 2 * x

    assert get_function("double") == FunctionSpec(
        name="double", description="Double a number.", parameters=NUMBER_SCHEMA, func=double, timeout_s=3
    )


def test_it_registers_with_a_bare_decorator_and_an_empty_object_schema():
    @register_function
    def ping():
        return "pong"

    assert get_function("ping").parameters == {"type": "object", "properties": {}}
    assert get_function("ping").description == ""


def test_it_registers_with_a_plain_call_under_another_name():
    def impl(x):
        return x

    returned = register_function(impl, name="identity", description="Return x.", parameters=NUMBER_SCHEMA)

    assert returned is impl
    assert get_function("identity").func is impl
    assert get_function("impl") is None


def test_it_rejects_an_invalid_schema_at_registration():
    with pytest.raises(jsonschema.SchemaError):
        register_function(lambda: None, name="broken", parameters={"type": 12})


def test_it_loads_a_module_listed_in_entities_functions(settings):
    settings.ENTITIES_FUNCTIONS = ["inference.tests.example_functions"]

    names = [spec.name for spec in registered_functions()]

    assert names == ["get_flight_times", "getAnnouncedPrefixes", "convert_temperature", "shout"]


def test_it_loads_a_single_registered_callable(settings):
    settings.ENTITIES_FUNCTIONS = ["inference.tests.example_functions.shout"]

    assert get_function("shout").description == "Upper-case the text."


def test_it_loads_once(settings):
    assert get_function("convert_temperature") is None
    settings.ENTITIES_FUNCTIONS = ["inference.tests.example_functions"]

    assert get_function("convert_temperature") is None  # already loaded before the setting changed


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("inference.tests.no_such_module", "neither a module nor a callable"),
        ("inference.tests.example_functions.missing", "neither a module nor a callable"),
        ("json.dumps", "is not a registered function"),
    ],
)
def test_it_names_a_bad_entities_functions_path(settings, path, why):
    settings.ENTITIES_FUNCTIONS = [path]

    with pytest.raises(ImproperlyConfigured, match=f"ENTITIES_FUNCTIONS entry '{path}'.*{why}"):
        registered_functions()


async def test_it_calls_a_sync_function_and_serialises_its_result():
    @register_function(parameters=NUMBER_SCHEMA)
    def describe(x: float, label: str = "n") -> dict:
        return {"label": label, "double": 2 * x, "when": time.gmtime(0).tm_year}

    outcome = await execute_function("describe", '{"x": 2.5, "label": "a"}')

    assert outcome == ToolOutcome(ok=True, output='{"label": "a", "double": 5.0, "when": 1970}')


async def test_it_awaits_an_async_function_and_passes_a_string_through():
    @register_function(parameters=NUMBER_SCHEMA)
    async def text(x: float) -> str:
        await asyncio.sleep(0)
        return f"x is {x}"

    assert await execute_function("text", '{"x": 1}') == ToolOutcome(ok=True, output="x is 1")


async def test_it_serialises_what_json_cannot_with_str():
    import datetime

    @register_function
    def today():
        return {"date": datetime.date(2024, 5, 1)}

    assert await execute_function("today", "") == ToolOutcome(ok=True, output='{"date": "2024-05-01"}')


async def test_it_refuses_arguments_that_are_not_json():
    register_function(lambda x: x, name="f", parameters=NUMBER_SCHEMA)

    outcome = await execute_function("f", '{"x": ')

    assert outcome.ok is False
    assert json.loads(outcome.output) == {"error": outcome.error}
    assert outcome.error.startswith("arguments are not valid JSON: Expecting value: line 1 column 7")


async def test_it_refuses_arguments_that_are_not_an_object():
    register_function(lambda x: x, name="f", parameters=NUMBER_SCHEMA)

    outcome = await execute_function("f", "[1, 2]")

    assert outcome == ToolOutcome(
        ok=False,
        output='{"error": "arguments must be a JSON object, got list"}',
        error="arguments must be a JSON object, got list",
    )


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("{}", "invalid arguments for f: 'x' is a required property"),
        ('{"x": "two"}', "invalid arguments for f: x: 'two' is not of type 'number'"),
        ('{"x": 1, "label": "too long"}', "invalid arguments for f: label: 'too long' is too long"),
    ],
)
async def test_it_names_the_field_that_fails_the_schema(arguments, problem):
    register_function(lambda **kw: kw, name="f", parameters=NUMBER_SCHEMA)

    outcome = await execute_function("f", arguments)

    assert outcome == ToolOutcome(ok=False, output=json.dumps({"error": problem}), error=problem)


async def test_it_reports_an_exception_as_the_functions_output():
    @register_function
    def explode():
        raise ValueError("boom")

    outcome = await execute_function("explode", "{}")

    assert outcome == ToolOutcome(ok=False, output='{"error": "ValueError: boom"}', error="ValueError: boom")


async def test_it_stops_waiting_for_an_async_function_at_its_timeout():
    @register_function(timeout=0.2)
    async def slow():
        await asyncio.sleep(10)

    started = time.monotonic()
    outcome = await execute_function("slow", "{}")

    assert outcome == ToolOutcome(
        ok=False, output='{"error": "slow did not finish within 0.2 s"}', error="slow did not finish within 0.2 s"
    )
    assert time.monotonic() - started < 2


async def test_it_stops_waiting_for_a_sync_function_at_the_default_timeout(settings):
    settings.ENTITIES_FUNCTION_TIMEOUT = 0.1

    @register_function
    def blocking():
        time.sleep(0.3)

    started = time.monotonic()
    outcome = await execute_function("blocking", "{}")

    assert outcome.error == "blocking did not finish within 0.1 s"
    assert time.monotonic() - started < 0.25  # the event loop was not blocked meanwhile


async def test_it_lets_cancellation_through():
    @register_function
    async def forever():
        await asyncio.sleep(10)

    task = asyncio.ensure_future(execute_function("forever", "{}"))
    await asyncio.sleep(0.05)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_it_explains_an_unknown_function():
    outcome = await execute_function("launch_rockets", "{}")

    assert outcome == ToolOutcome(
        ok=False,
        output='{"error": "function \'launch_rockets\' is not registered on this server"}',
        error="function 'launch_rockets' is not registered on this server",
    )


async def test_it_prefers_available_functions_and_skips_the_schema_for_them():
    def get_flight_times(**kwargs):
        return {"seed": kwargs}

    outcome = await execute_function(
        "get_flight_times", '{"anything": 1}', available_functions={"get_flight_times": get_flight_times}
    )

    assert outcome == ToolOutcome(ok=True, output='{"seed": {"anything": 1}}')
