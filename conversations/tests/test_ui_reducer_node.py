"""The chat page's reducer and history loader (static/chat/state.js, history.js), unit-tested
with Node's own test runner: `node --test static/chat/tests/`. This wrapper lets `make test`
run them; it skips (saying why) without Node, and fails instead under ENTITIES_REQUIRE_SERVICES=1."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from testsupport.requirements import require

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "static" / "chat" / "tests"


def test_the_chat_reducer_and_history_loader_pass_their_node_tests():
    node = shutil.which("node")
    require(node is not None, "node is not installed; the chat page's reducer tests run with `node --test` (Node 20+)")
    files = sorted(str(path) for path in TESTS.glob("*.test.mjs"))
    assert files, f"no *.test.mjs in {TESTS}"
    result = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert "# fail 0" in result.stdout, result.stdout[-2000:]
