"""The run-TTFT benchmark of file_search must keep working: one tiny run, end to end.

It runs `python -m bench.retrieval.run_ttft` with one small store and a few runs per arm, in
a subprocess (the harness owns its children and signal handlers), then checks the JSON it
wrote: every arm streamed, and each run did the tool round it stands for. It never asserts
a time: this machine's speed is not a test result.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_it_streams_every_arm_and_each_makes_its_own_tool_round(tmp_path):
    out = tmp_path / "run_ttft.json"
    done = subprocess.run([sys.executable, "-m", "bench.retrieval.run_ttft", "--sizes", "200", "--runs", "2",
                           "--warmup", "1", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())

    assert report["arms"] == ["no_tool", "control_function", "file_search_200", "file_search_200_top1"]
    assert not report["errors"]
    assert all(len(report["raw_ttft_ms"][arm]) == 2 for arm in report["arms"])
    checks = report["checks"]
    assert checks["no_tool"] == {"status": "completed", "steps": ["message_creation"]}
    assert checks["control_function"]["tool_call"] == "function"
    assert checks["file_search_200"]["tool_call"] == "file_search" and checks["file_search_200"]["results"] > 0
    assert report["model_turns"]["tool_turns"] == report["model_turns"]["answer_turns"] == 3 * 3
    assert set(report["file_search_added_ms"]) == {"file_search_200", "file_search_200_top1"}
    assert checks["file_search_200_top1"]["results"] == 1
    assert "load average" in report["load_at_start"]["uptime"]
