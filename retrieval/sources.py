"""Where retrieval reads uploaded files: the Files API app (`files`), through its public functions.

Kept in one module so that retrieval depends on exactly two things of `files`: looking a
file up for its owner (404 for anyone else) and reading its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFile:
    id: str
    filename: str
    bytes: int


def file_for_user(*, user, file_id: str) -> SourceFile:
    """The user's file ``file_id``; raises kernel.errors.NotFound for an unknown or foreign id."""
    from files.selectors import file_get_for_user

    record = file_get_for_user(user=user, file_id=file_id)
    return SourceFile(id=record.id, filename=record.filename, bytes=int(record.bytes or 0))


def read_file_bytes(file_id: str) -> bytes | None:
    """The stored bytes of ``file_id``, or None when the file is gone (deleted meanwhile)."""
    from files.models import File

    record = File.objects.filter(pk=file_id).first()
    if record is None:
        return None
    return _read(record)


def _read(record) -> bytes:
    from files import selectors

    reader = getattr(selectors, "file_read_bytes", None) or getattr(selectors, "file_content", None)
    if reader is not None:
        return reader(file=record)
    stored = record.file  # a FileField
    with stored.open("rb") as handle:
        return handle.read()
