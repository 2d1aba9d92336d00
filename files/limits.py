"""Upload limits enforced while the body streams in, before anything is stored.

``LimitedUploadHandler`` is Django's TemporaryFileUploadHandler (every upload goes to a
temporary file on disk, never into memory) that stops as soon as the file passes the
per-file limit (413) or the owner's remaining quota (400), and removes what it wrote.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from kernel.errors import EntitiesError, InvalidRequest


class FileTooLarge(EntitiesError):
    """The file is over ENTITIES_MAX_FILE_BYTES (413, as OpenAI answered)."""

    status = 413
    default_code = "file_too_large"


class QuotaExceeded(InvalidRequest):
    """Storing the file would take the owner past ENTITIES_USER_STORAGE_BYTES (400)."""

    default_code = "storage_quota_exceeded"


def max_file_bytes() -> int:
    return settings.ENTITIES_MAX_FILE_BYTES


def too_large(size: int) -> FileTooLarge:
    return FileTooLarge(f"The file is {size} bytes or more; the limit is {max_file_bytes()} bytes per file.",
                        param="file")


def over_quota(used: int, size: int) -> QuotaExceeded:
    quota = settings.ENTITIES_USER_STORAGE_BYTES
    return QuotaExceeded(
        f"Storing this file ({size} bytes) would exceed your storage quota of {quota} bytes "
        f"({used} bytes in use). Delete files to make room.", param="file")


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams the upload to a temporary file and refuses it mid-stream when over a limit.

    ``quota`` returns (the owner's room or None for no quota, bytes in use); it is asked
    when the file part starts, since the body may be parsed before the view runs (the CSRF
    check of a browser session reads the form). The service checks the quota again, under
    a lock, before it keeps the file.
    """

    def __init__(self, request=None, *, quota=None):
        super().__init__(request)
        self.quota = quota
        self.quota_left: int | None = None
        self.used = 0
        self.received = 0

    def new_file(self, *args, **kwargs):
        if self.quota is not None:
            self.quota_left, self.used = self.quota()
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received = start + len(raw_data)
        if self.received > max_file_bytes():
            self._discard()
            raise too_large(self.received)
        if self.quota_left is not None and self.received > self.quota_left:
            self._discard()
            raise over_quota(self.used, self.received)
        return super().receive_data_chunk(raw_data, start)

    def _discard(self) -> None:
        # The temporary file deletes itself on close: nothing is left behind.
        file = getattr(self, "file", None)
        if file is not None:
            file.close()
