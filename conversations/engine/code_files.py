"""Files in and out of the code interpreter for a run, and the reply parts that show them.

In: the run's files — the assistant's and the thread's ``code_interpreter.file_ids`` and
the thread's message attachments that name the ``code_interpreter`` tool — are copied
into the sandbox at ``/mnt/data/<filename>``; the model is told their paths.

Out: every file the code writes under ``/mnt/data`` becomes a File of the run's owner
(purpose ``assistants_output``, origin = the run): images are ``image`` outputs of the
tool call, and ``image_file`` parts of the run's next reply; any file the reply mentions
as ``sandbox:/mnt/data/<path>`` gets a ``file_path`` annotation there, as OpenAI did.
"""

from __future__ import annotations

import logging
import os
from pathlib import PurePosixPath

from django.contrib.auth import get_user_model

from conversations.engine.resources import run_resource_ids
from conversations.models import Message, Run, text_part
from files.models import OUTPUT_PURPOSE, File
from files.selectors import files_for_user
from files.services import file_create, file_read
from files.storage import files_storage
from kernel.errors import EntitiesError

log = logging.getLogger(__name__)

DATA_DIR = "/mnt/data"
SANDBOX_LINK = "sandbox:" + DATA_DIR + "/"


def run_file_ids(run: Run) -> list[str]:
    """The ids the run's code interpreter gets, in order, without repeats."""
    ids = run_resource_ids(run, "code_interpreter", "file_ids")
    for attachments in Message.objects.filter(thread_id=run.thread_id).exclude(attachments=[]).values_list(
            "attachments", flat=True):
        for attachment in attachments or []:
            if any((tool or {}).get("type") == "code_interpreter" for tool in attachment.get("tools") or []):
                ids.append(attachment.get("file_id"))
    return list(dict.fromkeys(i for i in ids if i))


def run_input_files(run: Run) -> dict[str, File]:
    """``/mnt/data`` name → File for the run's live files (a repeated filename gets the id added)."""
    ids = run_file_ids(run)
    found = files_for_user(user=run.owner_id, file_ids=ids) if run.owner_id else {}
    by_name: dict[str, File] = {}
    for file_id in ids:
        file = found.get(file_id)
        if file is None:
            continue  # deleted or expired since it was attached
        name = file.filename
        if name in by_name or name in (".", ".."):
            stem, suffix = os.path.splitext(name)
            name = f"{stem}-{file.id}{suffix}"
        by_name[name] = file
    return by_name


def sandbox_inputs(files: dict[str, File]) -> dict[str, bytes | str]:
    """What the sandbox copies in: a host path where the storage has one, else the bytes."""
    storage = files_storage()
    inputs: dict[str, bytes | str] = {}
    for name, file in files.items():
        try:
            inputs[name] = storage.path(file.storage_name)
        except NotImplementedError:  # a remote storage (S3, …): read the bytes
            inputs[name] = file_read(file)
    return inputs


def files_note(run: Run) -> str | None:
    """A line for the model's instructions naming the files at /mnt/data, or None without files."""
    files = run_input_files(run)
    if not files:
        return None
    listed = ", ".join(f"{DATA_DIR}/{name} ({file.bytes} bytes)" for name, file in files.items())
    return (f"Files available to the code_interpreter tool: {listed}. Files your code writes under {DATA_DIR} "
            f"are returned to the user; link one in your reply as {SANDBOX_LINK}<name>.")


def store_outputs(run: Run, written: list) -> tuple[list[dict], list[str]]:
    """Save what the code wrote as Files; (image outputs for the tool call, lines for the model)."""
    owner = get_user_model().objects.filter(pk=run.owner_id).first()
    outputs: list[dict] = []
    notes: list[str] = []
    for item in written:
        try:
            file = file_create(user=owner, content=item.data, filename=PurePosixPath(item.name).name,
                               purpose=OUTPUT_PURPOSE, content_type=item.mime_type, origin=run.id,
                               origin_path=item.name)
        except EntitiesError as exc:  # over the owner's quota or the file limit: say so, keep going
            notes.append(f"[{DATA_DIR}/{item.name} was not saved: {exc.message}]")
            continue
        if item.kind == "image":
            outputs.append({"type": "image", "image": {"file_id": file.id}})
            notes.append(f"[{DATA_DIR}/{item.name} saved as {file.id}; the user sees this image]")
        else:
            notes.append(f"[{DATA_DIR}/{item.name} saved as {file.id}; link it as {SANDBOX_LINK}{item.name}]")
    return outputs, notes


async def run_code(code: str, run: Run) -> tuple[list[dict], str, bool]:
    """Run the model's code with the run's files; (outputs, text for the model, ok)."""
    from conversations.engine.db import db
    from inference.tools.code_interpreter import execute

    files = await db(run_input_files, run)
    inputs = await db(sandbox_inputs, files)
    result = await execute(code, input_files=inputs)
    outputs, text = list(result.outputs), result.model_text
    if result.files:
        images, notes = await db(store_outputs, run, result.files)
        outputs += images
        text = text + "\n" + "\n".join(notes)
    return outputs, text, result.ok


def _annotations(text: str, generated: list[File]) -> list[dict]:
    found = []
    for file in generated:
        link = SANDBOX_LINK + file.origin_path
        start = text.find(link)
        while start != -1:
            end = start + len(link)
            # Only whole paths: "sandbox:/mnt/data/a.csv" must not match inside ".../a.csv.bak".
            if end == len(text) or not (text[end].isalnum() or text[end] in "._-/"):
                found.append({"type": "file_path", "text": link, "start_index": start, "end_index": end,
                              "file_path": {"file_id": file.id}})
            start = text.find(link, end)
    return sorted(found, key=lambda a: a["start_index"])


def reply_content(message: Message, text: str) -> list[dict]:
    """The reply's content: the run's new images as ``image_file`` parts, then the text with
    ``file_path`` annotations for the generated files it links to."""
    part = text_part(text)
    if not message.run_id:
        return [part]
    generated = list(File.objects.filter(origin=message.run_id, owner_id=message.owner_id).order_by("created_at", "id"))
    if not generated:
        return [part]
    part["text"]["annotations"] = _annotations(text, generated)
    shown = set()
    for content in Message.objects.filter(run_id=message.run_id).exclude(pk=message.pk).values_list("content", flat=True):
        shown.update((p.get("image_file") or {}).get("file_id") for p in content or [] if p.get("type") == "image_file")
    images = [{"type": "image_file", "image_file": {"file_id": f.id, "detail": "auto"}}
              for f in generated if f.content_type.startswith("image/") and f.id not in shown]
    return [*images, part]
