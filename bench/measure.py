"""Server-side and client-side resource use over a timed window.

CPU is utime + stime from /proc/<pid>/stat (through psutil) for each child and its
workers; RSS is sampled every ``SAMPLE_SECONDS`` for its peak. The client's own CPU and
event-loop lag (how late a short sleep wakes up) show whether the load generator kept up.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from bench.procs import Child
from bench.stats import percentile

SAMPLE_SECONDS = 0.1
PROBE_SLEEP = 0.01


class Meter:
    def __init__(self, children: dict[str, Child]):
        self.children = children
        self.me = psutil.Process()
        self.peak_rss: dict[str, int] = {}
        self.lags: list[float] = []
        self.result: dict = {}

    def _client_cpu(self) -> float:
        times = self.me.cpu_times()
        return times.user + times.system

    def _ours_cpu(self) -> float:
        """This process and every process it started (the whole benchmark)."""
        total = self._client_cpu()
        for child in self.me.children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    @staticmethod
    def _machine_busy() -> float:
        times = psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        next_rss = 0.0
        while True:
            before = loop.time()
            await asyncio.sleep(PROBE_SLEEP)
            self.lags.append(max(loop.time() - before - PROBE_SLEEP, 0.0))
            if loop.time() >= next_rss:
                next_rss = loop.time() + SAMPLE_SECONDS
                for name, child in self.children.items():
                    self.peak_rss[name] = max(self.peak_rss.get(name, 0), child.rss_bytes())

    async def __aenter__(self) -> "Meter":
        self.cpu0 = {name: child.cpu_seconds() for name, child in self.children.items()}
        self.rss0 = {name: child.rss_bytes() for name, child in self.children.items()}
        self.client0 = self._client_cpu()
        self.ours0, self.busy0 = self._ours_cpu(), self._machine_busy()
        self.t0 = time.perf_counter()
        self.sampler = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc) -> None:
        self.sampler.cancel()
        try:
            await self.sampler
        except asyncio.CancelledError:
            pass
        wall = time.perf_counter() - self.t0
        cpu = {name: child.cpu_seconds() - self.cpu0[name] for name, child in self.children.items()}
        cpu["client"] = self._client_cpu() - self.client0
        busy = self._machine_busy() - self.busy0
        ours = self._ours_cpu() - self.ours0
        self.result = {
            "wall_s": wall,
            "cpu_s": cpu,
            "cpu_pct": {name: 100.0 * s / wall for name, s in cpu.items()} if wall > 0 else {},
            # Other people's work on the same cores (CPU % of one core): a noisy neighbour shows here.
            "machine_busy_pct": 100.0 * busy / wall if wall > 0 else None,
            "others_pct": 100.0 * max(busy - ours, 0.0) / wall if wall > 0 else None,
            "rss_start_mb": {name: b / 2**20 for name, b in self.rss0.items()},
            "peak_rss_mb": {name: b / 2**20 for name, b in self.peak_rss.items()},
            "client_loop_lag_ms": {"p50": _ms(percentile(self.lags, 50)), "p99": _ms(percentile(self.lags, 99)),
                                   "max": _ms(max(self.lags) if self.lags else None)},
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


def per_token_us(cpu_s: dict, tokens: int) -> dict:
    """CPU microseconds per delivered token, per process."""
    return {name: (s * 1e6 / tokens if tokens else None) for name, s in cpu_s.items()}
