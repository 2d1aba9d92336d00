"""A download response that streams from the storage without holding the file in memory.

Django's FileResponse is a sync iterator; under ASGI Django would read all of it into a
list before sending (and warns so). This one is an async iterator that reads one chunk
at a time in a worker thread.
"""

from __future__ import annotations

import asyncio

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from files.models import File
from files.services import file_open

CHUNK_BYTES = 256 * 1024


async def _chunks(handle):
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def file_download_response(file: File) -> StreamingHttpResponse:
    """The file's bytes with its content type, length and an attachment filename."""
    response = StreamingHttpResponse(_chunks(file_open(file)), content_type=file.content_type)
    response["Content-Length"] = str(file.bytes)
    response["Content-Disposition"] = content_disposition_header(True, file.filename)
    return response
