"""The ``code_interpreter`` tool: the model's Python, run in the sandbox, reported two ways.

No state survives between calls — each call is a fresh process with a fresh ``/mnt/data``,
so variables and files from an earlier call in the same thread are gone unless the caller
passes them in again. ``execute`` takes input files and returns the files the code wrote
(for the Files API to store); ``run_code_interpreter`` is the older, files-less shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from inference.sandbox import SandboxFile, SandboxResult, run_python
from inference.sandbox_command import DATA_DIR, PACKAGES_HINT, interpreter

# Packages the sandbox virtualenv provides (requirements-sandbox.txt), for the hint below.
SANDBOX_PACKAGES = ("numpy", "pandas", "matplotlib", "PIL", "openpyxl")
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


@dataclass
class CodeInterpreterRun:
    """One tool call: the Assistants ``outputs``, the model's text, ok, and the files written."""

    outputs: list[dict]
    model_text: str
    ok: bool  # False only when the sandbox refused or failed; the code's own errors are ok
    files: list[SandboxFile] = field(default_factory=list)  # created or changed under /mnt/data
    result: SandboxResult | None = None


async def execute(
    code: str, *, input_files: Mapping[str, bytes | str | os.PathLike] | None = None
) -> CodeInterpreterRun:
    """Run ``code`` with ``input_files`` (name -> bytes or host path) at ``/mnt/data/<name>``.

    ``files`` are what the code created or changed under ``/mnt/data`` (name relative to it,
    bytes, guessed mime type), bounded by ``CODE_INTERPRETER_MAX_FILES_OUT`` and
    ``CODE_INTERPRETER_MAX_FILES_OUT_MB``; the logs name every file, returned or not.
    Raises ``ValueError`` for an input name that is not a plain file name.
    """
    result = await run_python(code, input_files=input_files)
    if result.error:
        message = f"[code interpreter unavailable: {result.error}]"
        return CodeInterpreterRun([{"type": "logs", "logs": message}], message, False, result=result)
    logs = _logs(result)
    return CodeInterpreterRun(
        [{"type": "logs", "logs": logs}], _model_text(logs, result), True, files=result.output_files, result=result
    )


def tool_description() -> str:
    """What the model should be told about this interpreter (for the tool's ``description``)."""
    if interpreter().has_packages:
        packages = "numpy, pandas, matplotlib (draws to files), pillow and openpyxl are installed."
    else:
        packages = "Only the Python standard library is available."
    return (
        "Run Python 3 code in a sandbox without network access and return its output. Print what you want "
        f"to see. The working directory is {DATA_DIR}: input files are there, and files you save there are "
        f"returned. {packages} Nothing is kept between calls."
    )


async def run_code_interpreter(code: str) -> tuple[list[dict], str, bool]:
    """Run ``code``; return (Assistants ``outputs``, the text the model sees, ok).

    ``ok`` is False only when the sandbox refused or failed; an exception in the code is
    an ordinary result (ok=True, traceback in the logs).
    """
    run = await execute(code)
    return run.outputs, run.model_text, run.ok


def _logs(result: SandboxResult) -> str:
    lines = [result.stdout, result.stderr]
    for file in result.files:
        lines.append(f"[file written: {DATA_DIR}/{file['name']}, {file['size']} bytes, {file['kind']}]\n")
    for file in result.omitted_files:
        lines.append(f"[file not returned: {DATA_DIR}/{file['name']}: {file['reason']}]\n")
    missing = _MISSING_MODULE.search(result.stderr)
    if not result.packages and missing and missing.group(1).split(".")[0] in SANDBOX_PACKAGES:
        lines.append(f"[{PACKAGES_HINT}]\n")
    return "".join(part if part.endswith("\n") or not part else part + "\n" for part in lines)


def _model_text(logs: str, result: SandboxResult) -> str:
    if result.timed_out:
        status = f"[timed out after {settings.CODE_INTERPRETER_TIMEOUT:g} s; the program was stopped]"
    elif result.truncated or result.exit_code == 0:
        status = ""  # the truncation note is already in the logs
    elif result.exit_code is not None and result.exit_code > 128:
        status = f"[the program was killed by signal {result.exit_code - 128}]"
    elif result.exit_code is not None and result.exit_code < 0:
        status = f"[the program was killed by signal {-result.exit_code}]"
    else:
        status = f"[exit status {result.exit_code}]"
    text = (logs + status).strip()
    return text or "[no output]"
