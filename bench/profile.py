"""Sampling profiles of the Entities process(es) with py-spy, and their hot spots.

py-spy is not a dependency: it is found on PATH, next to this interpreter, or at
$BENCH_PY_SPY (`pip install --target /tmp/pyspy py-spy` is enough). Without it the
benchmark says so and skips the profile. Recording is `--nonblocking`, and happens in an
extra ladder step whose numbers are not reported, so it never skews a measurement.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

RATE_HZ = 100
PROJECT_DIRS = ("entities_project/", "conversations/", "inference/", "assistants/")
TOP = 25


def find_py_spy() -> str | None:
    candidates = [os.environ.get("BENCH_PY_SPY"), shutil.which("py-spy"), str(Path(sys.executable).parent / "py-spy"),
                  "/tmp/pyspy/bin/py-spy"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


async def record(pid: int, seconds: float, output: Path, py_spy: str) -> str | None:
    """Record ``pid`` for ``seconds`` into collapsed-stack text at ``output``; an error message or None."""
    proc = await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(pid), "--duration", str(max(int(seconds), 1)), "--rate", str(RATE_HZ),
        "--format", "raw", "--output", str(output), "--nonblocking", "--gil",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return "py-spy did not finish in time"
    if proc.returncode != 0 or not output.exists():
        return f"py-spy failed ({proc.returncode}): {out.decode(errors='replace')[-400:]}"
    return None


def _frame_key(frame: str) -> str:
    """``func (path/to/file.py:123)`` → ``func (to/file.py)``: aggregate over lines."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    for marker in PROJECT_DIRS:
        if marker in path:
            short = marker + path.split(marker, 1)[1]
            break
    else:
        if "site-packages/" in path:
            short = path.split("site-packages/", 1)[1]
    return f"{name} ({short})"


def hot_spots(paths: list[Path]) -> dict:
    """Self time (leaf frames) and inclusive time per function, as % of samples."""
    self_counts: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_frame_key(f) for f in stack.split(";") if f]
            if not frames:
                continue
            self_counts[frames[-1]] += n
            for key in set(frames):
                inclusive[key] += n
    if not total:
        return {"samples": 0, "self": [], "inclusive_project": [], "inclusive_all": []}

    def table(counter: Counter, only_project: bool = False) -> list[dict]:
        rows = [(k, v) for k, v in counter.most_common() if not only_project or any(d in k for d in PROJECT_DIRS)]
        return [{"function": k, "pct": round(100.0 * v / total, 2)} for k, v in rows[:TOP]]

    return {"samples": total, "self": table(self_counts), "inclusive_project": table(inclusive, True),
            "inclusive_all": table(inclusive)}
