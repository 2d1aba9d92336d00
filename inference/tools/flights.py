"""``get_flight_times``: the OpenAI function-calling example, answered from a fixed table.

Deterministic on purpose — it exists so a model's tool call can be exercised end to end
without any outside service. Times are local, as the example printed them.
"""

from __future__ import annotations

import json

from inference.registry import register_function

# (departure, arrival) -> (duration, departure_time, arrival_time)
ROUTES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("JFK", "LAX"): ("5h 30m", "08:00 AM", "11:30 AM"),
    ("LAX", "JFK"): ("5h 20m", "02:00 PM", "10:20 PM"),
    ("LHR", "JFK"): ("8h 00m", "09:00 AM", "12:00 PM"),
    ("JFK", "LHR"): ("7h 05m", "07:30 PM", "07:35 AM"),
    ("CDG", "DXB"): ("6h 45m", "11:00 AM", "08:45 PM"),
    ("DXB", "CDG"): ("7h 15m", "03:00 AM", "07:15 AM"),
    ("SFO", "NRT"): ("11h 10m", "01:00 PM", "04:10 PM"),
    ("SYD", "SIN"): ("8h 05m", "10:30 AM", "04:35 PM"),
}

SCHEMA = {
    "type": "object",
    "properties": {
        "departure": {"type": "string", "description": "IATA code of the departure airport, e.g. JFK"},
        "arrival": {"type": "string", "description": "IATA code of the arrival airport, e.g. LAX"},
    },
    "required": ["departure", "arrival"],
    "additionalProperties": False,
}


@register_function(parameters=SCHEMA)
def get_flight_times(departure: str, arrival: str) -> str:
    """Get the flight time between two airports, given their IATA codes."""
    key = (departure.strip().upper(), arrival.strip().upper())
    if key not in ROUTES:
        known = ", ".join(f"{a}-{b}" for a, b in ROUTES)
        return json.dumps({"error": f"no route from {key[0]} to {key[1]}; known routes: {known}"})
    duration, departure_time, arrival_time = ROUTES[key]
    return json.dumps(
        {
            "departure": key[0],
            "arrival": key[1],
            "duration": duration,
            "departure_time": departure_time,
            "arrival_time": arrival_time,
        }
    )
