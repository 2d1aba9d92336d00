"""The official openai Node SDK (npm, pinned in tests/node/responses/package.json) streams a
response and continues a conversation against a live Entities server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.requirements import require_tool
from testsupport.scenarios import Reply
from testsupport.sse import FAKE_CHUNKS, FAKE_TEXT, cloud  # noqa: F401 - cloud is a fixture

NODE_DIR = Path(__file__).resolve().parents[2] / "tests" / "node" / "responses"
INSTALL_TIMEOUT = 300
RUN_TIMEOUT = 60


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    """The SDK installed from the lockfile (`npm ci`) once; later runs reuse node_modules."""
    require_tool("node", "the Node SDK test runs the openai package under Node.js")
    require_tool("npm", "the Node SDK test installs the openai package with npm")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").exists():
        subprocess.run([shutil.which("npm"), "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       timeout=INSTALL_TIMEOUT, capture_output=True)
    return NODE_DIR


def test_the_node_sdk_streams_a_response_and_continues_a_conversation(node_sdk, live_entities, alice, cloud):
    cloud.push(Reply(FAKE_CHUNKS), Reply(["Hi ", "Node"]), Reply(["You are ", "Node"]))
    env = {**os.environ, "ENTITIES_BASE_URL": live_entities.v1, "ENTITIES_API_KEY": alice.api_key, "MODEL": "cloud/x"}
    done = subprocess.run([shutil.which("node"), "responses.mjs"], cwd=node_sdk, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["types"] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * len(FAKE_CHUNKS), "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert seen["sequence"] == list(range(len(seen["types"])))
    assert seen["deltas"] == FAKE_CHUNKS and seen["streamedText"] == FAKE_TEXT
    assert (seen["firstText"], seen["secondText"], seen["secondConversation"]) == (
        "Hi Node", "You are Node", seen["conversation"])
    assert seen["items"] == [["user", "My name is Node"], ["assistant", "Hi Node"], ["user", "What is my name?"],
                             ["assistant", "You are Node"]]
    history = [(m["role"], m["content"]) for m in cloud.requests[2]["messages"]]
    assert history == [("user", "My name is Node"), ("assistant", "Hi Node"), ("user", "What is my name?")]
