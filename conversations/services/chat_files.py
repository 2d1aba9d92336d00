"""The chat page's attachments: uploaded file ids → image parts and code-interpreter attachments."""

from __future__ import annotations

from files.selectors import files_for_user
from kernel.errors import InvalidRequest

MAX_CHAT_FILES = 20  # OpenAI's cap on a message's attachments


def chat_file_parts(*, owner_id: int, file_ids) -> tuple[list[dict], list[dict]]:
    """(``image_file`` parts, ``attachments``) for the owner's files; 400 naming ``file_ids[i]`` otherwise."""
    if file_ids in (None, []):
        return [], []
    if not isinstance(file_ids, list) or len(file_ids) > MAX_CHAT_FILES:
        raise InvalidRequest(f"'file_ids' must be a list of at most {MAX_CHAT_FILES} file ids.", param="file_ids")
    found = files_for_user(user=owner_id, file_ids=[i for i in file_ids if isinstance(i, str)])
    images, attachments = [], []
    for index, file_id in enumerate(dict.fromkeys(i if isinstance(i, str) else None for i in file_ids)):
        file = found.get(file_id)
        if file is None:
            raise InvalidRequest(f"Invalid 'file_ids[{index}]': no file with id {file_id!r}.",
                                 param=f"file_ids[{index}]", code="invalid_file_id")
        if file.content_type.startswith("image/") and file.content_type != "image/svg+xml":
            images.append({"type": "image_file", "image_file": {"file_id": file.id, "detail": "auto"}})
        else:
            attachments.append({"file_id": file.id, "tools": [{"type": "code_interpreter"}]})
    return images, attachments
