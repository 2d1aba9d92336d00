"""``input_file`` parts: a user's file given to the model as its text.

Validation keeps a placeholder part (``{"type": "input_file", "input_file": {...}}``); the
service resolves it before the message is stored: the user's File (``file_id``) or the
inline ``file_data`` is parsed to text by retrieval's parsers (text, Markdown, code, JSON,
CSV, HTML, PDF, DOCX) and stored as a text part, so the engine and every backend send it as
text. The response's input items show the part as the ``input_file`` it was.
"""

from __future__ import annotations

import base64
import binascii
from kernel.errors import InvalidRequest
from kernel.validation import fields as f

MAX_FILE_BYTES = 32 * 1024 * 1024  # OpenAI's limit for a file input
MAX_FILE_CHARS = 1_000_000
PLACEHOLDER = "input_file"


def placeholder(part: dict, path: str) -> dict:
    """A request's ``input_file`` part, checked (resolved later by ``resolve``)."""
    f.obj(part, path, allowed=("type", "file_id", "file_data", "filename", "file_url", "detail"))
    if part.get("file_url") is not None:
        raise f.invalid_value(f.join(path, "file_url"), "Entities reaches no URLs: upload the file and give its "
                                                        "'file_id', or send its bytes as 'file_data'.")
    file_id = f.string(part.get("file_id"), f.join(path, "file_id"), nullable=True, non_empty=True)
    data = f.string(part.get("file_data"), f.join(path, "file_data"), nullable=True, non_empty=True)
    filename = f.string(part.get("filename"), f.join(path, "filename"), nullable=True, max_length=512)
    if (file_id is None) == (data is None):
        raise InvalidRequest(f"Invalid '{path}': give exactly one of 'file_id' and 'file_data'.", param=path)
    if data is not None and not filename:
        raise InvalidRequest(f"Missing required parameter: '{f.join(path, 'filename')}' (it names the file's kind).",
                             param=f.join(path, "filename"), code="missing_required_parameter")
    return {"type": PLACEHOLDER, PLACEHOLDER: {"file_id": file_id, "file_data": data, "filename": filename,
                                               "path": path}}


def _inline_bytes(data: str, path: str) -> bytes:
    encoded = data.split(",", 1)[1] if data.startswith("data:") and "," in data else data
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"Invalid '{path}.file_data': expected base64 (or a base64 data: URL).",
                             param=f"{path}.file_data") from exc


def _text(*, user, spec: dict) -> tuple[str, dict]:
    """(the file's text, the part as input items show it)."""
    from files.selectors import file_get_for_user
    from files.services import file_read
    from retrieval.parsing import ParseError, parse

    path = spec["path"]
    if spec["file_id"]:
        file = file_get_for_user(user=user, file_id=spec["file_id"], param=f"{path}.file_id")
        if file.bytes > MAX_FILE_BYTES:
            raise InvalidRequest(f"Invalid '{path}.file_id': the file is larger than {MAX_FILE_BYTES} bytes.",
                                 param=f"{path}.file_id")
        data, filename = file_read(file), file.filename
    else:
        data, filename = _inline_bytes(spec["file_data"], path), spec["filename"]
        if len(data) > MAX_FILE_BYTES:
            raise InvalidRequest(f"Invalid '{path}.file_data': larger than {MAX_FILE_BYTES} bytes.",
                                 param=f"{path}.file_data")
    try:
        text = parse(data, filename)
    except ParseError as exc:
        raise InvalidRequest(f"Invalid '{path}': {filename} cannot be read as text ({exc}).", param=path) from exc
    if len(text) > MAX_FILE_CHARS:
        raise InvalidRequest(f"Invalid '{path}': {filename} has more than {MAX_FILE_CHARS} characters of text.",
                             param=path)
    shown = {"type": "input_file", "file_id": spec["file_id"], "filename": filename}
    return f"<file name=\"{filename}\">\n{text}\n</file>", shown


def resolve(*, user, messages: list[dict]) -> list[list[tuple[int, dict]]]:
    """Replace each message's ``input_file`` placeholders by text parts, in place; returns, per
    message, the (part index, input item part) of each file (for the response's input items)."""
    from conversations.services.content import text_part

    shown: list[list[tuple[int, dict]]] = []
    for message in messages:
        files = []
        for i, part in enumerate(message["content"]):
            if part.get("type") == PLACEHOLDER:
                text, item_part = _text(user=user, spec=part[PLACEHOLDER])
                message["content"][i] = text_part(text)
                files.append((i, item_part))
        shown.append(files)
    return shown


def show_files(items: list[dict], shown: list[list[tuple[int, dict]]]) -> list[dict]:
    """Input items with their file parts shown as the ``input_file`` parts they were sent as."""
    for item, files in zip(items, shown):
        for index, part in files:
            item["content"][index] = part
    return items

