"""The ``code_interpreter`` tool: the model's Python, run in the sandbox, reported two ways.

No state survives between calls — each call is a fresh process in a fresh directory, so
variables and files from an earlier call in the same thread are gone. There is no Files
API yet: files the code writes are described in the logs, not returned.
"""

from __future__ import annotations

from django.conf import settings

from inference.sandbox import SandboxResult, run_python


async def run_code_interpreter(code: str) -> tuple[list[dict], str, bool]:
    """Run ``code``; return (Assistants ``outputs``, the text the model sees, ok).

    ``ok`` is False only when the sandbox refused or failed; an exception in the code is
    an ordinary result (ok=True, traceback in the logs).
    """
    result = await run_python(code)
    if result.error:
        message = f"[code interpreter unavailable: {result.error}]"
        return [{"type": "logs", "logs": message}], message, False
    logs = _logs(result)
    return [{"type": "logs", "logs": logs}], _model_text(logs, result), True


def _logs(result: SandboxResult) -> str:
    lines = [result.stdout, result.stderr]
    for file in result.files:
        lines.append(f"[file written: {file['name']}, {file['size']} bytes, {file['kind']}]\n")
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
