"""Settings read from the environment fail loudly on bad values and refuse an unsafe start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from kernel.env import env_bool, env_int


def _import_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", "import entities_project.settings"], cwd=settings.BASE_DIR,
                          env=clean, capture_output=True, text=True, timeout=60)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _import_settings({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_it_starts_with_a_secret_key():
    assert _import_settings({"DEBUG": "0", "SECRET_KEY": "x" * 50}).returncode == 0


def test_it_starts_in_debug_without_a_key():
    assert _import_settings({"DEBUG": "1"}).returncode == 0


def test_it_rejects_a_bad_boolean(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be a boolean"):
        env_bool("X_FLAG")


def test_it_rejects_an_integer_below_its_minimum(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_NUM", 5, minimum=1)


def test_the_default_database_is_sqlite_in_wal_mode(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the suite runs against PostgreSQL here (DATABASE_URL is set)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
