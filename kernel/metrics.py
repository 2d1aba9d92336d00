"""Operator metrics (Prometheus), served at `GET /metrics` by entities_project.metrics.

The headline is `entities_overhead_seconds`: a run's wall time minus the time spent
waiting on the model server and running tools — what Entities itself adds, defined the
way serious gateways define it. Metrics are per process (scrape each worker, or read the
sum across workers).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OVERHEAD = Histogram(
    "entities_overhead_seconds",
    "Run wall time minus time waiting on the model server and on tools.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
UPSTREAM_WAIT = Histogram(
    "entities_upstream_wait_seconds", "Time a run spent waiting on the model server.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "entities_time_to_first_token_seconds", "From run claimed to the first text delta published.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RUNS = Counter("entities_runs_total", "Runs that reached a terminal or paused state.", ["status"])
TOKENS = Counter("entities_streamed_deltas_total", "Text and tool-call deltas published to watchers.")
ACTIVE_RUNS = Gauge("entities_active_runs", "Runs executing in this process.")

