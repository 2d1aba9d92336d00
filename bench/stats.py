"""Percentiles and the interleaved-rounds summary (median of round medians)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100), linear between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], scale: float = 1.0) -> dict:
    """n, p50, p95, p99, mean and max of ``values`` multiplied by ``scale`` (e.g. 1000 for ms)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50) * scale,
        "p95": percentile(ordered, 95) * scale,
        "p99": percentile(ordered, 99) * scale,
        "mean": statistics.fmean(ordered) * scale,
        "max": ordered[-1] * scale,
    }


def rounds_summary(rounds: list[list[float]], scale: float = 1.0) -> dict:
    """Pooled percentiles, plus ``p50_rounds``: the median of the per-round medians (the headline)."""
    pooled = [v for r in rounds for v in r]
    result = summary(pooled, scale)
    medians = [statistics.median(r) for r in rounds if r]
    result["p50_rounds"] = statistics.median(medians) * scale if medians else None
    result["round_medians"] = [m * scale for m in medians]
    return result


def minus(a: dict, b: dict, keys=("p50_rounds", "p50", "p95", "p99", "mean")) -> dict:
    """``a - b`` key by key (the added time of a target over the direct baseline)."""
    return {k: (a[k] - b[k]) if a.get(k) is not None and b.get(k) is not None else None for k in keys}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
