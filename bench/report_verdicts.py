"""The verdicts of a benchmark run: every target of the issue, met or not, as measured."""

from __future__ import annotations

# (key, description, target, comparison) — every target of the issue, reported as measured.
TARGETS = [
    ("ttft_p50", "Added TTFT p50, one stream (C − A)", 15.0, "ms"),
    ("ttft_p99", "Added TTFT p99, one stream (C − A)", 50.0, "ms"),
    ("itl_p50", "Added inter-token time p50, one stream at 100 tok/s", 2.0, "ms"),
    ("streams_500", "500 streams at 20 tok/s: no errors and added ITL p99 ≤ 50 ms", 50.0, "ms"),
    ("streams_1000", "Stretch: 1,000 streams at 20 tok/s, same bar", 50.0, "ms"),
    ("cpu_per_token", "CPU per streamed token, Entities process(es)", 100.0, "µs"),
    ("writes_per_token", "DB writes per token (2,000- vs 20-token reply)", 0.0, "writes"),
    ("writes_per_run", "DB writes per simple run (20-token reply)", 12.0, "writes"),
    ("list_rps", "Message list requests/s", 400.0, "req/s"),
    ("ws_idle_kib", "RSS per idle WebSocket", 100.0, "KiB"),
]


def _get(data: dict, *path, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def headline_step(results: dict) -> str | None:
    """The ladder step the headline numbers come from: N=500 when it ran, else the largest."""
    steps = _get(results, "scenarios", "ladder", "steps", default={}) or {}
    if "500" in steps:
        return "500"
    return max(steps, key=int) if steps else None


def verdicts(results: dict) -> list[dict]:
    """One row per target: what was measured, a note, and whether the target was met (None: no data)."""
    s = results.get("scenarios", {})
    c = _get(s, "single", "targets", "C", default={}) or {}
    steps = _get(s, "ladder", "steps", default={}) or {}
    measured: dict[str, tuple] = {}
    measured["ttft_p50"] = (_get(c, "added_ttft_ms", "p50_rounds"), None)
    measured["ttft_p99"] = (_get(c, "added_ttft_ms", "p99"), None)
    measured["itl_p50"] = (_get(c, "added_itl_ms", "p50"), None)
    for key, n in (("streams_500", "500"), ("streams_1000", "1000")):
        step = _get(steps, n, "C")
        if step is None:
            measured[key] = (None, "not run" if n not in steps else "no data")
        else:
            added = _get(step, "added_itl_ms", "p99")
            late = _get(step, "added_lateness_ms", "p99")
            if late is not None and added is not None:
                added = max(added, late)  # bursts after a stall shrink the gaps: lateness catches them
            ok = step["success_rate"] == 1.0
            note = f"worse of added ITL p99 and added lateness p99; success {100 * step['success_rate']:.1f}% ({step['failed']} failed)"
            measured[key] = (added, note, ok)
    top = headline_step(results)
    cpu = _get(steps, top, "C", "cpu_us_per_token", "server") if top else None
    measured["cpu_per_token"] = (cpu, f"at N={top}" if top else None)
    db = _get(s, "db", "variants", default={}) or {}
    if db:
        worst = max(db.values(), key=lambda v: v.get("writes_per_token", 0))
        short = max(v["runs"][min(v["runs"], key=int)]["writes_excluding_lease_renewals"] for v in db.values())
        names = ", ".join(db)
        measured["writes_per_token"] = (worst.get("writes_per_token"), names)
        measured["writes_per_run"] = (short, names)
    crud = _get(s, "crud", "alone", default={}) or {}
    lists = [v["rps"] for k, v in crud.items() if k.startswith("list_messages") and v.get("rps")]
    measured["list_rps"] = (max(lists) if lists else None, "best of c=16, c=64")
    ws = _get(s, "ws", results.get("meta", {}).get("server", "uvicorn"), default={}) or {}
    measured["ws_idle_kib"] = (ws.get("kib_per_socket"), f"{ws.get('opened', 0)} sockets")
    rows = []
    for key, text, target, unit in TARGETS:
        value, note, *extra = measured.get(key, (None, None))
        if value is None:
            passed = None
        elif key == "list_rps":
            passed = value >= target
        else:
            passed = value <= target + 1e-9
        if extra and passed is not None:
            passed = passed and extra[0]
        rows.append({"key": key, "metric": text, "target": target, "unit": unit, "measured": value, "note": note,
                     "met": passed})
    return rows
