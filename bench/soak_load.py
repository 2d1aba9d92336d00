"""The soak's load: the mix of operations, the clients looping over it, and what they tallied."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.soak_client import OP_TIMEOUT, Client, Stack

FAKE_RESET_SECONDS = 30.0
LOOKUP_TOOL = {"type": "function", "function": {"name": "soak_lookup", "description": "Look a thing up.",
                                                "parameters": {"type": "object", "properties": {}}}}
FLIGHT_TOOL = {"type": "function", "server_side": True, "function": {
    "name": "get_flight_times", "description": "Flight times between two airports.",
    "parameters": {"type": "object", "properties": {"departure": {"type": "string"}, "arrival": {"type": "string"}},
                   "required": ["departure", "arrival"]}}}

OPERATIONS = {  # name: weight
    "stream_reply": 3, "poll_reply": 2, "cancel": 2, "client_tool": 2, "server_tool": 1,
    "disconnect_and_resume": 2, "websocket": 2, "websocket_leave": 1, "seed_route": 1,
}


@dataclass
class Tally:
    """Operations that succeeded and failed, by name, and the first words of each failure."""

    ok: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


async def client_loop(stack: Stack, number: int, seed: int, deadline: float, tally: Tally) -> None:
    """Client ``number``: run operations drawn by weight until ``deadline``, counting each in ``tally``."""
    rng = random.Random(seed * 1000 + number)
    client = Client(stack, rng)
    names, weights = list(OPERATIONS), list(OPERATIONS.values())
    try:
        while time.monotonic() < deadline:
            name = rng.choices(names, weights)[0]
            try:
                await asyncio.wait_for(getattr(client, name)(), OP_TIMEOUT)
                tally.ok[name] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                tally.failed[name] += 1
                tally.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    finally:
        await client.http.aclose()


async def make_assistants(stack: Stack) -> None:
    """Create the assistants the operations use (echo, slow, client_tool, server_tool) into ``stack.assistants``."""
    client = Client(stack, random.Random(0))
    specs = {"echo": {"model": "cloud/fake-model"}, "slow": {"model": "demo/slow"},
             "client_tool": {"model": "demo/tools", "tools": [LOOKUP_TOOL]},
             "server_tool": {"model": "demo/tools", "tools": [FLIGHT_TOOL]}}
    for name, spec in specs.items():
        stack.assistants[name] = (await client.call("POST", "/v1/assistants", {"name": f"soak {name}", **spec}))["id"]
    await client.http.aclose()


async def soak(stack: Stack, args, fake) -> Tally:
    """The load itself: ``args.clients`` clients for ``args.duration`` seconds; what they tallied."""
    await make_assistants(stack)
    tally = Tally()
    deadline = time.monotonic() + args.duration

    async def keep_fake_small() -> None:
        while True:
            await asyncio.sleep(FAKE_RESET_SECONDS)
            fake.reset()  # its request log would grow for the whole soak otherwise

    trimmer = asyncio.create_task(keep_fake_small())
    try:
        await asyncio.gather(*(client_loop(stack, n, args.seed, deadline, tally) for n in range(args.clients)))
    finally:
        trimmer.cancel()
    return tally
