"""An example ENTITIES_FUNCTIONS module for the registry tests: importing it registers two functions."""

from __future__ import annotations

from inference.registry import register_function


@register_function(
    parameters={
        "type": "object",
        "properties": {"celsius": {"type": "number"}},
        "required": ["celsius"],
        "additionalProperties": False,
    }
)
def convert_temperature(celsius: float) -> dict:
    """Convert a temperature from Celsius to Fahrenheit."""
    return {"celsius": celsius, "fahrenheit": celsius * 9 / 5 + 32}


def _shout(text: str) -> str:
    return text.upper()


shout = register_function(
    _shout,
    name="shout",
    description="Upper-case the text.",
    parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)
