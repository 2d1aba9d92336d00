"""Tests that need a system tool skip, saying why, when it is missing — except in CI.

With ENTITIES_REQUIRE_SERVICES=1 (CI) a missing tool fails the test instead, so a
broken CI image cannot pass by skipping.
"""

from __future__ import annotations

import shutil

import pytest

from kernel.env import env_bool


def require(available: bool, reason: str) -> None:
    """Skip (or, under ENTITIES_REQUIRE_SERVICES=1, fail) unless ``available``."""
    if available:
        return
    if env_bool("ENTITIES_REQUIRE_SERVICES", False):
        pytest.fail(f"{reason} (ENTITIES_REQUIRE_SERVICES=1, so this fails instead of skipping)")
    pytest.skip(reason, allow_module_level=True)


def require_tool(name: str, why: str) -> None:
    """Require executable ``name`` on PATH; ``why`` says what the test needs it for."""
    require(shutil.which(name) is not None, f"{name} is not installed; {why}")
