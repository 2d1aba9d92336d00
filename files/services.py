"""Writes of files: create (bytes first, then the row), delete (row and bytes), sweeps.

Crash safety: the bytes are saved under their final name *before* the row is created
in a transaction. A crash between the two leaves bytes without a row, never a row
without bytes; ``sweep_orphans`` deletes such bytes once they are older than
ORPHAN_GRACE_SECONDS (an upload in flight is younger than that and is left alone).
"""

from __future__ import annotations

import logging
import mimetypes
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile, File as DjangoFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from files.limits import max_file_bytes, over_quota, too_large
from files.models import File
from files.storage import all_names, files_storage, storage_name_for
from kernel.ids import new_file_id

log = logging.getLogger(__name__)

ORPHAN_GRACE_SECONDS = 15 * 60
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_filename(name: str | None) -> str:
    """The last path segment, without control characters, at most 255 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("", base).strip()
    return base[:255] if base not in ("", ".", "..") else "file"


def _content_type(filename: str, given: str | None) -> str:
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    if given and given.isascii() and "/" in given and len(given) <= 128:
        return given
    return "application/octet-stream"


def storage_used(user) -> int:
    """Bytes of all the user's files, expired-but-not-yet-swept ones included."""
    return File.objects.filter(owner=user).aggregate(total=Sum("bytes"))["total"] or 0


def quota_left(user) -> tuple[int | None, int]:
    """(room left or None for no quota, bytes in use)."""
    quota = settings.ENTITIES_USER_STORAGE_BYTES
    if not quota:
        return None, 0
    used = storage_used(user)
    return max(quota - used, 0), used


def file_create(*, user, content, filename: str, purpose: str, expires_after_seconds: int | None = None,
                content_type: str | None = None, origin: str = "", origin_path: str = "") -> File:
    """Store ``content`` (an UploadedFile, Django File or bytes) as a new File of ``user``.

    ``origin``/``origin_path`` record what generated the file (a run, its sandbox path).

    Raises FileTooLarge (413) or QuotaExceeded (400); on any failure nothing is kept.
    """
    if isinstance(content, (bytes, bytearray)):
        content = ContentFile(bytes(content))
    elif not isinstance(content, DjangoFile):
        content = DjangoFile(content)
    size = content.size
    if size > max_file_bytes():
        raise too_large(size)
    room, used = quota_left(user)
    if room is not None and size > room:
        raise over_quota(used, size)
    filename = clean_filename(filename)
    file_id = new_file_id()
    storage = files_storage()
    name = storage.save(storage_name_for(file_id), content)
    try:
        with transaction.atomic():
            if settings.ENTITIES_USER_STORAGE_BYTES:
                # Concurrent uploads of one user take turns here, so together they stay in quota.
                get_user_model().objects.select_for_update().filter(pk=user.pk).first()
                room, used = quota_left(user)
                if size > room:
                    raise over_quota(used, size)
            now = timezone.now()
            return File.objects.create(
                id=file_id, owner=user, created_at=now, filename=filename, bytes=size, purpose=purpose,
                content_type=_content_type(filename, content_type or getattr(content, "content_type", None)),
                expires_at=now + timedelta(seconds=expires_after_seconds) if expires_after_seconds else None,
                storage_name=name, origin=origin, origin_path=origin_path[:512],
            )
    except BaseException:
        _delete_bytes(name)
        raise


def _delete_bytes(name: str) -> None:
    try:
        files_storage().delete(name)
    except Exception:  # noqa: BLE001 - the orphan sweep retries what is left
        log.warning("could not delete stored file %s; the orphan sweep will", name, exc_info=True)


def file_delete(*, file: File) -> None:
    """Delete the row, then the bytes (a crash between leaves an orphan the sweep removes)."""
    name = file.storage_name
    file.delete()
    _delete_bytes(name)


def file_open(file: File):
    """The stored bytes as a readable binary file (the caller closes it)."""
    return files_storage().open(file.storage_name, "rb")


def file_read(file: File) -> bytes:
    """All the bytes of a (small) file: for model context and the sandbox, not downloads."""
    with file_open(file) as handle:
        return handle.read()


def sweep_expired(*, now=None, batch: int = 200) -> int:
    """Delete files whose ``expires_at`` has passed; returns how many."""
    now = now or timezone.now()
    count = 0
    for file in File.objects.filter(expires_at__lte=now).order_by("expires_at")[:batch]:
        file_delete(file=file)
        count += 1
    return count


def sweep_orphans(*, grace_seconds: float = ORPHAN_GRACE_SECONDS) -> int:
    """Delete stored bytes that no row names and that are older than ``grace_seconds``."""
    storage = files_storage()
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    names = all_names(storage)
    known: set[str] = set()
    for start in range(0, len(names), 500):  # SQLite caps the parameters of one query
        chunk = names[start:start + 500]
        known.update(File.objects.filter(storage_name__in=chunk).values_list("storage_name", flat=True))
    count = 0
    for name in names:
        if name in known:
            continue
        try:
            if storage.get_modified_time(name) > cutoff:
                continue  # an upload between its save and its row
        except (FileNotFoundError, NotImplementedError):
            continue
        _delete_bytes(name)
        count += 1
    return count
