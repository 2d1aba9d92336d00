"""Where retrieval reads uploaded files: the Files API app (`files`), through its public functions.

Kept in one module so that retrieval depends on exactly three things of `files`: looking
files up for their owner (absent for anyone else), reading their bytes, and the deletion signal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFile:
    id: str
    filename: str
    bytes: int


def files_for_user(*, user, file_ids: list[str]) -> dict[str, SourceFile]:
    """The user's live files among ``file_ids``, by id, in one query (unknown or foreign ids are absent)."""
    from files.selectors import files_for_user as live_files

    return {pk: SourceFile(id=r.id, filename=r.filename, bytes=int(r.bytes or 0))
            for pk, r in live_files(user=user, file_ids=file_ids).items()}


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
