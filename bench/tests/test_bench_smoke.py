"""The benchmark must keep working: one tiny run of every scenario, end to end.

It runs `python -m bench --quick` shrunk to a few streams, in a subprocess (the harness
owns its children and signal handlers), then checks the JSON it wrote. It never asserts
a time: this machine's speed is not a test result.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--quick", "--iterations", "4", "--round-size", "2", "--ladder", "3,6", "--ladder-tokens", "10",
        "--ws-sockets", "5", "--crud-seconds", "0.5", "--run-creates", "8", "--load-streams", "4"]


@pytest.mark.slow
def test_it_runs_every_scenario_and_writes_results(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench", *TINY, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "results.md").read_text().startswith("# Entities benchmark")
    assert (tmp_path / "results.png").stat().st_size > 0

    meta = results["meta"]
    assert meta["machine"]["cpus"] >= 1 and meta["machine"]["git"]["sha"]
    assert {"Django", "uvicorn", "daphne"} <= set(meta["machine"]["versions"])
    assert set(results["scenarios"]) == set(SCENARIOS)
    assert not [name for name, s in results["scenarios"].items() if "error" in s]

    single = results["scenarios"]["single"]["targets"]
    assert {"A", "B", "C", "C_ws", "R", "C_daphne"} <= set(single)
    assert all(t["ok"] == t["runs"] > 0 for t in single.values())
    assert all(t["ttft_ms"]["p50_rounds"] is not None for t in single.values())
    assert {"A", "B", "C"} <= set(results["scenarios"]["throughput"]["targets"])

    for n, step in results["scenarios"]["ladder"]["steps"].items():
        for key in ("A", "B", "C"):
            assert step[key]["success_rate"] == 1.0, (n, key, step[key]["errors"])
            assert step[key]["cpu_us_per_token"].keys() >= {"client", "fakeoai"}

    assert results["scenarios"]["headroom"]["max"]["chunks_per_s"] > 0
    crud = results["scenarios"]["crud"]
    for name in ("list_messages_c16", "create_message_c16", "create_run_c16"):
        assert crud["alone"][name]["ok"] > 0 and crud["alone"][name]["errors"] == 0
        assert crud["under_load"][name]["ok"] > 0
    runs = results["scenarios"]["db"]["variants"]["sqlite"]["runs"]
    assert {"20", "2000"} == set(runs) and all(r["ok"] for r in runs.values())
    assert all({"reads", "writes", "writes_by_table"} <= set(r) for r in runs.values())
    ws = results["scenarios"]["ws"]["uvicorn"]
    assert ws["opened"] == ws["sockets"] and ws["kib_per_socket"] is not None
    assert {v["key"] for v in results["verdicts"]} >= {"ttft_p50", "cpu_per_token", "list_rps", "ws_idle_kib"}
