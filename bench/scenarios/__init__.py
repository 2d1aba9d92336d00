"""The benchmark's scenarios and what they share: the plan (sizes), the context, the targets.

Targets are measured side by side and interleaved in the same run: (A) the fake model
server directly, (B) the thin proxy, (C) Entities — over SSE, over the WebSocket, and
under the other ASGI server for the comparison — (R) Entities' Responses API, and the peers
in bench/peers/ where installed: (L) the LiteLLM proxy, (O) OGX's Responses API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.api import EntitiesApi, ThreadSupply
from bench.fakeoai import model_name
from bench.httpclient import Connection
from bench.peers import ogx_peer
from bench.procs import Child
from bench.stack import Stack
from bench.streams import StreamResult, stream_chat, stream_responses, stream_run, stream_ws


@dataclass
class Plan:
    """How much of each scenario to run (``--quick`` shrinks everything)."""

    iterations: int = 120          # S1 streams per target (≥ 100)
    round_size: int = 10           # S1 streams per target per round
    warmup: int = 5
    single_tokens: int = 20
    single_itl_ms: float = 10.0
    throughput_tokens: int = 2000
    throughput_iterations: int = 6
    ladder: list[int] = field(default_factory=lambda: [10, 100, 500, 1000])
    ladder_rounds: int = 2
    ladder_tokens: int = 120       # at 20 tokens/s: 6 s per stream
    ladder_itl_ms: float = 50.0
    ladder_ttft_ms: float = 100.0
    ramp_per_s: float = 250.0      # new streams per second while a step ramps up
    compare_step: int = 100        # the ladder step also run under the other ASGI server
    headroom_streams: int = 64
    headroom_tokens: int = 3000
    headroom_hold_s: float = 3.0
    crud_requests: int = 4000
    crud_seconds: float = 6.0
    run_creates: int = 600
    load_streams: int = 100
    ws_sockets: int = 200
    ws_idle_s: float = 5.0
    ws_settle_s: float = 2.0
    db_tokens: tuple[int, int] = (20, 2000)
    db_postgres: bool = True
    profile: bool = True
    profile_step: int = 500
    profile_seconds: float = 8.0

    @classmethod
    def quick(cls) -> "Plan":
        return cls(iterations=20, round_size=10, warmup=2, throughput_tokens=500, throughput_iterations=2,
                   ladder=[10, 50], ladder_rounds=1, ladder_tokens=40, ramp_per_s=500.0, compare_step=10,
                   headroom_streams=16, headroom_tokens=1000, headroom_hold_s=1.0, crud_requests=300, crud_seconds=2.0, run_creates=60,
                   load_streams=20, ws_sockets=50, ws_idle_s=1.0, ws_settle_s=0.5, db_postgres=False, profile=False, profile_step=50,
                   profile_seconds=3.0)


@dataclass
class Tenant:
    """The client side of one Entities deployment: its API, assistant and fresh threads."""

    api: EntitiesApi
    api_key: str
    assistant_id: str
    supply: ThreadSupply


@dataclass
class Context:
    stack: Stack
    plan: Plan
    tenants: dict[str, Tenant]

    def tenant(self, server: str | None = None) -> Tenant:
        return self.tenants[server or self.stack.primary]

    @property
    def api(self) -> EntitiesApi:
        return self.tenant().api

    @property
    def assistant_id(self) -> str:
        return self.tenant().assistant_id

    @property
    def supply(self) -> ThreadSupply:
        return self.tenant().supply

    def child(self, server: str | None = None) -> Child:
        return self.stack.entities(server)


@dataclass
class Target:
    key: str    # "A", "B", "C", "C_ws", "C_daphne" …
    label: str
    kind: str   # "chat" | "run" | "ws" | "responses"
    port: int
    child: Child | None
    server: str | None = None  # the Entities deployment (C targets only)
    headers: dict = field(default_factory=dict)

    def connection(self) -> Connection:
        return Connection("127.0.0.1", self.port, dict(self.headers))

    async def stream(self, ctx: Context, conn: Connection | None, params: dict, timeout: float) -> StreamResult:
        model = model_name(**params)
        tokens = int(params["tokens"])
        if self.kind == "chat":
            if self.key == "L":
                # LiteLLM reads a model name with commas as a list of models (a batch across
                # them); the fake model server reads its parameters with any separator.
                model = model.replace(",", ";")
            return await stream_chat(conn, model, tokens, timeout)
        if self.kind == "responses":
            prefix = ogx_peer.MODEL_PREFIX if self.key == "O" else "cloud/"
            return await stream_responses(conn, prefix + model, tokens, timeout)
        tenant = ctx.tenant(self.server)
        thread_id = tenant.supply.take()[0]
        if self.kind == "run":
            return await stream_run(conn, thread_id, tenant.assistant_id, "cloud/" + model, tokens, timeout)
        url = f"ws://127.0.0.1:{self.port}/ws/threads/{thread_id}/?token={tenant.api_key}"
        return await stream_ws(url, tenant.assistant_id, "cloud/" + model, tokens, timeout)


def targets(ctx: Context, *, ws: bool = False, responses: bool | None = None,
            other_servers: bool = False) -> list[Target]:
    """The targets a scenario measures; ``responses`` (default: as ``ws``) adds R and O."""
    stack = ctx.stack
    responses = ws if responses is None else responses
    primary = stack.primary

    def auth(server: str) -> dict:
        return {"Authorization": f"Bearer {ctx.tenant(server).api_key}"}

    found = [
        Target("A", "direct to the fake model server", "chat", stack.fake.port, None),
        Target("B", "thin raw-ASGI proxy (httpx)", "chat", stack.proxy.port, stack.proxy),
        Target("C", f"Entities under {primary}, SSE", "run", stack.entities().port, stack.entities(), primary,
               auth(primary)),
    ]
    if "litellm" in stack.children:  # bench/peers/install_litellm.sh
        found.insert(2, Target("L", "LiteLLM proxy (peer)", "chat", stack.children["litellm"].port,
                               stack.children["litellm"]))
    if ws:
        found.append(Target("C_ws", f"Entities under {primary}, WebSocket", "ws", stack.entities().port,
                            stack.entities(), primary, auth(primary)))
    if responses:
        found.append(Target("R", f"Entities under {primary}, Responses API SSE", "responses",
                            stack.entities().port, stack.entities(), primary, auth(primary)))
        if "ogx" in stack.children:  # bench/peers/install_ogx.sh; else stack.skipped["O"] says why
            found.append(Target("O", "OGX (peer), Responses API SSE", "responses", stack.children["ogx"].port,
                                stack.children["ogx"]))
    if other_servers:
        for server in stack.servers[1:]:
            child = stack.entities(server)
            found.append(Target(f"C_{server}", f"Entities under {server}, SSE", "run", child.port, child, server,
                                auth(server)))
    return found


def errors_of(results: list[StreamResult], limit: int = 5) -> list[str]:
    seen: list[str] = []
    for result in results:
        if result.error and result.error not in seen:
            seen.append(result.error[:300])
            if len(seen) >= limit:
                break
    return seen
