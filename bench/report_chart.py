"""results.png: the charts of a benchmark run (TTFT, the ladder's delay and CPU, request rates)."""

from __future__ import annotations

from pathlib import Path

from bench.report_verdicts import _get


def chart(results: dict, path: Path) -> None:
    """Draw results.png at ``path``: S1 TTFT, the S3 ladder's added delay and CPU, S4/S5 request rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results.get("scenarios", {})
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(f"Entities benchmark ({results.get('meta', {}).get('mode')}, "
                 f"{results.get('meta', {}).get('machine', {}).get('cpus')} CPUs)")
    ax = axes[0][0]
    single = _get(s, "single", "targets", default={}) or {}
    if single:
        keys = list(single)
        for i, q in enumerate(("p50_rounds", "p95", "p99")):
            values = [single[k]["ttft_ms"].get(q) or 0 for k in keys]
            ax.bar([x + i * 0.27 for x in range(len(keys))], values, width=0.27, label=q.replace("_rounds", ""))
        ax.set_xticks([x + 0.27 for x in range(len(keys))], keys)
        ax.set_ylabel("TTFT, ms")
        ax.set_title("S1 one stream: time to first token")
        ax.legend()
    steps = _get(s, "ladder", "steps", default={}) or {}
    ns = sorted(steps, key=int)

    def value(t: dict, metric: str):
        if metric == "cpu":
            return t["cpu_us_per_token"].get("server")
        found = [v for v in (_get(t, "added_itl_ms", "p99"), _get(t, "added_lateness_ms", "p99")) if v is not None]
        return max(found) if found else None

    for ax, metric, title, target in ((axes[0][1], "itl", "S3 ladder: added delay p99 vs direct, ms\n"
                                       "(worse of inter-token time and lateness)", 50.0),
                                      (axes[1][0], "cpu", "S3 ladder: CPU µs per streamed token (server)", 100.0)):
        keys = sorted({k for n in ns for k in steps[n] if k != "A"})
        for key in keys:
            rows = [(int(n), steps[n][key]) for n in ns if key in steps[n]]
            points = [(x, value(t, metric)) for x, t in rows]
            points = [(x, y) for x, y in points if y is not None]
            for x, t in rows:  # a percentile over the few streams that survived says little: flag it
                if t.get("success_rate", 1.0) < 1.0 and value(t, metric) is not None:
                    ax.annotate(f"{100 * t['success_rate']:.0f}% ok", (x, value(t, metric)), fontsize=7,
                                color="red", textcoords="offset points", xytext=(4, 4))
            if points:
                style = {"marker": "o"} if len(points) > 1 else {"marker": "x", "markersize": 10, "linestyle": ""}
                ax.plot([p[0] for p in points], [p[1] for p in points], label=key, **style)
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
        if ns:
            ax.set_xscale("log")
            ax.set_xticks([int(n) for n in ns], ns)
            ax.minorticks_off()
        ax.set_xlabel("concurrent streams")
        ax.set_title(title)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    ax = axes[1][1]
    crud = s.get("crud") or {}
    bars = [(f"{k}\n{w.replace('_', ' ')}", r["rps"] or 0) for w in ("alone", "under_load")
            for k, r in (crud.get(w) or {}).items() if k != "streams" and k != "raw_asgi_hello_c16"]
    if bars:
        ax.barh([b[0] for b in bars], [b[1] for b in bars])
        ax.set_xlabel("requests/s")
        ax.set_title("S4/S5 request rates")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
