"""The File object as the API shows it."""

from __future__ import annotations

from files.models import File
from kernel.timestamps import unix


def file_object(file: File) -> dict:
    """OpenAIFile: id, object, bytes, created_at, expires_at, filename, purpose, status, status_details."""
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": unix(file.created_at),
        "expires_at": unix(file.expires_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": file.status,
        "status_details": file.status_details,
    }


def file_deleted(file_id: str) -> dict:
    """DeleteFileResponse: OpenAI answers ``object: "file"`` here, not ``file.deleted``."""
    return {"id": file_id, "object": "file", "deleted": True}
