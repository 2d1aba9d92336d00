"""The development SECRET_KEY kept in the git-ignored local folder (settings.py uses it).

Created once, by the first command run with DEBUG on (`make run`), with mode 0600, and
read by every later command, with DEBUG on or off, so sessions and JWTs survive a restart
and `python manage.py …` works without variables. Production (ENTITIES_PRODUCTION, set by
`make serve-prod`) never gets here: there SECRET_KEY is required.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

MIN_LENGTH = 32


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):  # someone loosened it: tighten it back
            os.chmod(path, 0o600)
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def development_secret_key(path: Path, *, create: bool) -> str:
    """The key stored at ``path``; created there first when ``create`` is true. '' when there
    is none (or it cannot be written: a read-only checkout then gets a per-process key)."""
    key = _read(path) if path.exists() else ""
    if len(key) >= MIN_LENGTH or not create:
        return key if len(key) >= MIN_LENGTH else ""
    key = "dev-" + secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two commands starting together agree on the first one's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = _read(path)
        if len(existing) >= MIN_LENGTH:
            return existing  # another command created it a moment ago
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)  # empty or truncated: replace it
        os.chmod(path, 0o600)
    except OSError as exc:
        print(f"entities: cannot keep a development key in {path} ({exc}); sessions end with this process",
              file=sys.stderr)
        return key
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
