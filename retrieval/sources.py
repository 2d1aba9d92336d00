"""Where retrieval reads uploaded files: the Files API app (`files`), through its public functions.

Kept in one module so that retrieval depends on exactly three things of `files`: looking a
file up for its owner (404 for anyone else), reading its bytes, and its deletion signal.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import NotFound


@dataclass(frozen=True)
class SourceFile:
    id: str
    filename: str
    bytes: int


def file_for_user(*, user, file_id: str) -> SourceFile:
    """The user's file ``file_id``; raises kernel.errors.NotFound for an unknown or foreign id."""
    try:
        from files.selectors import file_get_for_user
    except ImportError:  # the Files app before its selectors module
        file_get_for_user = None
    if file_get_for_user is not None:
        record = file_get_for_user(user=user, file_id=file_id)
    else:
        from files.models import File

        record = File.objects.filter(pk=file_id, owner=user).first()
        if record is None:
            raise NotFound(f"No such File object: {file_id}", param="file_id")
    return SourceFile(id=record.id, filename=record.filename, bytes=int(record.bytes or 0))


def read_file_bytes(file_id: str) -> bytes | None:
    """The stored bytes of ``file_id``, or None when the file is gone (deleted meanwhile)."""
    from files.models import File
    from files.services import file_read

    record = File.objects.filter(pk=file_id).first()
    if record is None:
        return None
    try:
        return file_read(record)
    except FileNotFoundError:
        return None


def connect_file_deletion(handler) -> None:
    """Call ``handler(file_id)`` after a File row is deleted (API delete, expiry, user deletion)."""
    from django.db.models.signals import post_delete

    def on_delete(sender, instance, **kwargs):
        handler(instance.pk)

    post_delete.connect(on_delete, sender="files.File", weak=False, dispatch_uid="retrieval-file-deleted")
