"""The few Entities REST calls the benchmark needs to set itself up (untimed)."""

from __future__ import annotations

import asyncio
import json

from bench.httpclient import Pool

SETUP_CONCURRENCY = 16
SETUP_TIMEOUT = 30.0
IDLE_READINGS = 4


class EntitiesApi:
    def __init__(self, port: int, api_key: str):
        self.port, self.api_key = port, api_key
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                        "OpenAI-Beta": "assistants=v2"}
        self.pool = Pool("127.0.0.1", port, self.headers)

    async def call(self, method: str, path: str, body: dict | None = None, *, expect: int = 200) -> dict:
        response = await self.pool.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                                           timeout=SETUP_TIMEOUT)
        if response.status != expect:
            raise RuntimeError(f"{method} {path} answered {response.status}: {response.body[:300]!r}")
        return response.json() if response.body else {}

    async def create_assistant(self, model: str) -> str:
        made = await self.call("POST", "/v1/assistants", {"model": model, "name": "bench",
                                                          "instructions": "You are a benchmark."})
        return made["id"]

    async def create_threads(self, count: int, *, messages: int = 1) -> list[str]:
        """``count`` threads, each with ``messages`` user messages."""
        body = {"messages": [{"role": "user", "content": f"Message {i}."} for i in range(messages)]}
        semaphore = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one() -> str:
            async with semaphore:
                return (await self.call("POST", "/v1/threads", body))["id"]

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def metrics(self) -> dict[str, float]:
        """The server's Prometheus samples (name with labels → value), summed if repeated."""
        response = await self.pool.request("GET", "/metrics", timeout=SETUP_TIMEOUT)
        samples: dict[str, float] = {}
        for line in response.body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = samples.get(name, 0.0) + float(value)
            except ValueError:
                continue
        return samples

    async def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the server executes no run (per /metrics); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        zeros = 0
        # Several readings in a row: with --workers each scrape may reach a different process.
        while loop.time() < deadline:
            zeros = zeros + 1 if (await self.metrics()).get("entities_active_runs", 0.0) <= 0 else 0
            if zeros >= IDLE_READINGS:
                return True
            await asyncio.sleep(0.1)
        return False

    async def close(self) -> None:
        await self.pool.close()


class ThreadSupply:
    """Fresh threads for runs (one active run per thread), made ahead of the timed part."""

    def __init__(self, api: EntitiesApi):
        self.api = api
        self.ready: list[str] = []

    async def ensure(self, count: int) -> None:
        if len(self.ready) < count:
            self.ready += await self.api.create_threads(count - len(self.ready))

    def take(self, count: int = 1) -> list[str]:
        if len(self.ready) < count:
            raise RuntimeError(f"ThreadSupply: asked for {count} threads, {len(self.ready)} prepared")
        taken, self.ready = self.ready[:count], self.ready[count:]
        return taken
