"""Results on disk: results.json, results.md (tables and the targets) and results.png."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench.report_chart import chart
from bench.report_markdown import markdown, server_comparison
from bench.report_verdicts import TARGETS, headline_step, verdicts
from bench.stack import ROOT

# The names other modules import from bench.report, wherever they are defined.
__all__ = ["PACKAGES", "TARGETS", "chart", "headline_step", "machine_info", "main", "markdown", "server_comparison",
           "verdicts", "write"]

PACKAGES = ("Django", "channels", "channels-redis", "uvicorn", "uvloop", "httptools", "daphne", "Twisted", "httpx",
            "openai", "websockets", "psycopg")


def machine_info() -> dict:
    """The machine, the package versions and the git state a run is measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "versions": versions, "git": _git()}


def _git() -> dict:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {"sha": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}


def write(results: dict, out_dir: Path) -> dict[str, Path]:
    """Write results.json (with the verdicts), results.md and results.png into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "md": out_dir / "results.md", "png": out_dir / "results.png"}
    results["verdicts"] = verdicts(results)
    paths["json"].write_text(json.dumps(results, indent=2, default=str))
    paths["md"].write_text(markdown(results))
    try:
        chart(results, paths["png"])
    except Exception as exc:  # noqa: BLE001 - a chart failure must not lose the numbers
        results.setdefault("report_errors", []).append(f"chart: {exc!r}")
        paths["json"].write_text(json.dumps(results, indent=2, default=str))
    return paths


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.report DIR`: render results.md and results.png again from DIR/results.json."""
    import sys

    out_dir = Path((argv or sys.argv[1:] or ["."])[0])
    results = json.loads((out_dir / "results.json").read_text())
    for path in write(results, out_dir).values():
        print(path)


if __name__ == "__main__":
    main()
