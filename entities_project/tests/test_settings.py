"""Settings read from the environment fail loudly on bad values and refuse an unsafe start."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from django.conf import settings

from kernel.env import env_bool, env_int


def _import_settings(env: dict, local_dir=None, code: str = "import entities_project.settings") -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "ENTITIES_PRODUCTION")}
    # A local folder of its own: the project's .local may hold a development key (make run).
    clean["ENTITIES_LOCAL_DIR"] = str(local_dir or tempfile.mkdtemp(prefix="entities-settings-"))
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR,
                          env=clean, capture_output=True, text=True, timeout=60)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _import_settings({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_it_starts_with_a_secret_key():
    assert _import_settings({"DEBUG": "0", "SECRET_KEY": "x" * 50}).returncode == 0


def test_it_starts_in_debug_without_a_key():
    assert _import_settings({"DEBUG": "1"}).returncode == 0


PRINT_KEY = "import entities_project.settings as s; print(s.SECRET_KEY)"


def test_debug_keeps_one_private_development_key_that_later_commands_reuse(tmp_path):
    first = _import_settings({"DEBUG": "1"}, tmp_path, PRINT_KEY)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret-key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert key_file.read_text().strip() == first.stdout.strip() and len(first.stdout.strip()) >= 50
    # The next command, with DEBUG on or off (`manage.py create_api_key` after `make run`), uses the same key.
    assert _import_settings({"DEBUG": "1"}, tmp_path, PRINT_KEY).stdout == first.stdout
    assert _import_settings({}, tmp_path, PRINT_KEY).stdout == first.stdout


def test_production_requires_a_secret_key_even_with_a_development_key_present(tmp_path):
    assert _import_settings({"DEBUG": "1"}, tmp_path).returncode == 0  # leaves .local/secret-key
    for debug in ("0", "1"):
        result = _import_settings({"DEBUG": debug, "ENTITIES_PRODUCTION": "1"}, tmp_path)
        assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
    assert _import_settings({"ENTITIES_PRODUCTION": "1", "SECRET_KEY": "y" * 50}, tmp_path).returncode == 0


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
