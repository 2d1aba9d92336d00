"""File ids where other objects use them: checked to be the owner's live files (400 with `param`).

Request validation (assistants/validation, conversations/validation) checks shapes only;
the services call these with the owner, since ownership needs the user. The shapes read
here are the cleaned ones: ``tool_resources.code_interpreter.file_ids``, message
``attachments[].file_id`` and ``image_file.file_id`` content parts.
"""

from __future__ import annotations

from kernel.errors import InvalidRequest

Refs = list[tuple[str, str]]  # (file id, param that names it)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def tool_resource_refs(tool_resources: dict | None, path: str = "tool_resources") -> Refs:
    """``code_interpreter.file_ids`` of an assistant's or thread's tool_resources."""
    ids = ((tool_resources or {}).get("code_interpreter") or {}).get("file_ids") or []
    return [(file_id, f"{_join(path, 'code_interpreter.file_ids')}[{i}]") for i, file_id in enumerate(ids)]


def message_refs(content: list | None, attachments: list | None, path: str = "") -> Refs:
    """``image_file`` parts of a message's content and its ``attachments``."""
    refs: Refs = []
    for i, part in enumerate(content or []):
        if isinstance(part, dict) and part.get("type") == "image_file":
            refs.append(((part.get("image_file") or {}).get("file_id"), f"{_join(path, 'content')}[{i}].image_file.file_id"))
    for i, attachment in enumerate(attachments or []):
        if isinstance(attachment, dict):
            refs.append((attachment.get("file_id"), f"{_join(path, 'attachments')}[{i}].file_id"))
    return refs


def messages_refs(messages: list | None, path: str) -> Refs:
    """Every message of a list (thread.messages, additional_messages), as ``path[i]``."""
    refs: Refs = []
    for i, message in enumerate(messages or []):
        refs.extend(message_refs(message.get("content"), message.get("attachments"), f"{path}[{i}]"))
    return refs


def check_references(*, owner_id: int, refs: Refs) -> None:
    """InvalidRequest (400, code ``invalid_file_id``) naming the first ref that is not a live file of the owner."""
    if not refs:
        return
    from files.selectors import live_file_ids

    known = live_file_ids(owner_id=owner_id, file_ids=[file_id for file_id, _ in refs])
    for file_id, param in refs:
        if file_id not in known:
            raise InvalidRequest(f"Invalid '{param}': no file with id '{file_id}'.", param=param, code="invalid_file_id")
