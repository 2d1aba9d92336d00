"""The soak (bench/soak.py) in its short form: a real Entities process, mixed clients for
about 15 seconds, then every invariant of the store. `make soak` runs the long form."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings

from bench.soak import OPERATIONS


@pytest.mark.slow
def test_a_short_soak_ends_with_no_errors_and_every_invariant_held(tmp_path):
    summary_path = tmp_path / "soak.json"
    # A 3 s lease: its renewal loop ticks every second, in the middle of runs ending.
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--duration", "15", "--clients", "8",
                           "--lease-seconds", "3", "--json", str(summary_path)],
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=180)
    assert summary_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(summary_path.read_text())

    assert (done.returncode, summary["errors"], summary["first_errors"]) == (0, 0, []), summary
    assert (summary["invariants_held"], summary["violations"], summary["stuck_runs"]) == (True, [], [])
    assert summary["servers_alive_at_end"] == summary["servers"] == 1
    assert summary["runs"] >= 40
    assert set(summary["runs_by_status"]) == {"completed", "cancelled"}
    assert {name for name, counts in summary["operations"].items() if counts["ok"]} == set(OPERATIONS)
