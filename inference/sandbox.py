"""Run untrusted Python in a separate, locked-down process — never inside the server.

The contract of ``run_python``: the code runs under bubblewrap, with

* fresh user, PID, IPC, UTS, cgroup and network namespaces (no network at all, not even
  loopback to the server) and no way to create further user namespaces;
* a filesystem of read-only ``/usr`` (plus the ``/bin``, ``/lib*`` links), the sandbox's
  own read-only virtualenv at ``/opt/venv`` when `make sandbox-env` built one, and two
  size-limited tmpfs: ``/mnt/data`` (the working directory; input files are copied there,
  the files the code writes there come back) and ``/tmp``. Everything else is read-only and
  empty: the server's source tree, database and environment are not there;
* an unprivileged uid: as root the sandbox runs as ``CODE_INTERPRETER_UID`` (65534), so
  the kernel enforces RLIMIT_NPROC, which it ignores for real root;
* rlimits on CPU, address space, processes, file size, open files and core dumps, a
  wall-clock limit enforced here, a byte cap on output, a size cap on all writable space
  (enforced by the kernel: the tmpfs refuses the byte past it) and a bound on the number
  of sandboxes one server process runs at once (``CODE_INTERPRETER_MAX_CONCURRENT``).

It refuses to run anything when bubblewrap is missing or cannot build a sandbox
(``sandbox_status``). Each call is a fresh process: nothing survives between calls.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from inference import sandbox_files
from inference.sandbox_command import LAUNCHER, PRLIMIT, SYSTEM_PYTHON, Interpreter, Limits, command, interpreter
from inference.sandbox_files import SandboxFile
from inference.sandbox_output import OutputBudget
from inference.sandbox_slots import SLOTS

logger = logging.getLogger(__name__)

__all__ = ["SandboxFile", "SandboxResult", "run_python", "sandbox_status"]

BWRAP = "bwrap"
PYTHON = SYSTEM_PYTHON
INSTALL_HINT = "the code interpreter needs bubblewrap: apt-get install bubblewrap"

DEFAULT_UID = 65534  # nobody/nogroup on Debian; used only when the server runs as root
MAX_FILE_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE: the largest single file the code may write
MAX_WORKDIR_FILES = 1000  # files and directories in /mnt/data or /tmp (tmpfs has no inode cap via bwrap)
TMP_BYTES = 64 * 1024 * 1024  # the /tmp tmpfs; /mnt/data gets CODE_INTERPRETER_DISK_MB
MAX_LISTED_FILES = 50
WATCH_INTERVAL_S = 0.25
KILL_GRACE_S = 5.0
ENOSPC_TEXT = "No space left on device"


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None  # bwrap reports a signal death as 128 + signal number
    timed_out: bool
    truncated: bool
    files: list[dict] = field(default_factory=list)  # created/changed in /mnt/data: {"name", "size", "kind"}
    duration_s: float = 0.0
    error: str | None = None  # set when the sandbox itself failed or refused; the code did not run
    output_files: list[SandboxFile] = field(default_factory=list)  # those files' bytes, within the bounds
    omitted_files: list[dict] = field(default_factory=list)  # {"name", "size", "reason"}: listed, not returned
    disk_full: bool = False  # a tmpfs reached its size (the code was refused space)
    packages: bool = False  # the sandbox virtualenv (numpy, pandas, ...) was available


def sandbox_status() -> tuple[bool, str]:
    """Whether code can run confined here; when not, what to install or change."""
    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        return False, INSTALL_HINT
    if not os.access(PYTHON, os.X_OK):
        return False, f"the code interpreter needs the system Python at {PYTHON}: apt-get install python3"
    if not os.access(PRLIMIT, os.X_OK):
        return False, f"the code interpreter needs {PRLIMIT}: apt-get install util-linux"
    return _probe(bwrap, _sandbox_uid(), interpreter())


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, uid: int | None, python: Interpreter) -> tuple[bool, str]:
    # A real (trivial) run with the real flags: bwrap may be installed yet unable to work,
    # e.g. where unprivileged user namespaces are disabled or bwrap is older than 0.8.
    root = _make_run_dir("pass\n", uid)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        limits = _limits(5, 256, 8, 1024 * 1024)
        argv = command(bwrap, root, python, limits, sock_fd=theirs.fileno(), inputs=[])
        completed = subprocess.run(
            argv, capture_output=True, timeout=30, env=_HOST_ENV, start_new_session=True,
            pass_fds=(theirs.fileno(),), **_identity(uid),
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bubblewrap could not start a sandbox: {exc}"
    finally:
        ours.close()
        theirs.close()
        _remove_tree(root)
    if completed.returncode != 0:
        detail = completed.stderr.decode(errors="replace").strip() or f"exit status {completed.returncode}"
        return False, (
            f"bubblewrap is installed but cannot build the sandbox here ({detail}); it needs bubblewrap 0.8+ "
            "and unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        )
    return True, "ok"


async def run_python(
    code: str,
    *,
    timeout_s: float | None = None,
    memory_mb: int | None = None,
    max_output_bytes: int | None = None,
    max_processes: int | None = None,
    input_files: Mapping[str, bytes | str | os.PathLike] | None = None,
    disk_mb: int | None = None,
) -> SandboxResult:
    """Run ``code`` in a fresh sandbox and report what happened; never raises for the code's faults.

    ``input_files`` maps a plain file name (no ``/``) to its content — ``bytes``, or a host
    path (``str``/``PathLike``) read by this process — and each is copied, writable, to
    ``/mnt/data/<name>`` before the code starts. ``/mnt/data`` is also the working directory.

    The result carries, besides the output: ``files`` (name, size, kind of every file the
    code created or changed under ``/mnt/data``, subdirectories included, symlinks never
    followed; an input left byte-for-byte unchanged is not listed), ``output_files``
    (``SandboxFile(name, data, mime_type)`` of those, at most ``CODE_INTERPRETER_MAX_FILES_OUT``
    files and ``CODE_INTERPRETER_MAX_FILES_OUT_MB`` in all, in name order), ``omitted_files``
    (the rest, with the reason), ``disk_full`` and ``packages``. ``error`` is set, and the
    code did not run, when the sandbox is unavailable, the inputs do not fit in
    ``disk_mb`` (default ``CODE_INTERPRETER_DISK_MB``), or no sandbox slot freed within
    ``CODE_INTERPRETER_QUEUE_TIMEOUT``. A bad input name raises ``ValueError``, an
    unreadable input path ``OSError``: those are the caller's bugs.
    """
    timeout_s = timeout_s or settings.CODE_INTERPRETER_TIMEOUT
    memory_mb = memory_mb or settings.CODE_INTERPRETER_MEMORY_MB
    max_output_bytes = max_output_bytes or settings.CODE_INTERPRETER_MAX_OUTPUT_BYTES
    max_processes = max_processes or settings.CODE_INTERPRETER_MAX_PROCESSES
    disk_bytes = (disk_mb or settings.CODE_INTERPRETER_DISK_MB) * 1024 * 1024
    for name in input_files or {}:
        sandbox_files.check_input_name(name)
    available, message = await asyncio.to_thread(sandbox_status)
    if not available:
        return _refused(message)
    opening = asyncio.ensure_future(asyncio.to_thread(sandbox_files.open_inputs, input_files))
    try:
        inputs = await asyncio.shield(opening)
    except asyncio.CancelledError:  # the thread still finishes: close what it opens
        opening.add_done_callback(_close_opened_inputs)
        raise
    try:
        if (needed := sum(item.size for item in inputs)) > disk_bytes:
            return _refused(
                f"the input files ({_mb(needed)} MB) do not fit in the sandbox's {_mb(disk_bytes)} MB "
                "(CODE_INTERPRETER_DISK_MB)"
            )
        limit, wait_s = settings.CODE_INTERPRETER_MAX_CONCURRENT, settings.CODE_INTERPRETER_QUEUE_TIMEOUT
        if not await SLOTS.acquire(limit, wait_s):
            return _refused(
                f"the code interpreter is busy: all {limit} sandboxes of this server process are in use "
                f"(CODE_INTERPRETER_MAX_CONCURRENT) and none was free within {wait_s:g} s; try again shortly"
            )
        try:
            limits = _limits(timeout_s, memory_mb, max_processes, disk_bytes)
            return await _run(code, inputs, limits, max_output_bytes)
        finally:
            SLOTS.release()
    finally:
        sandbox_files.close_inputs(inputs)


def _close_opened_inputs(opening: asyncio.Future) -> None:
    if not opening.cancelled() and opening.exception() is None:
        sandbox_files.close_inputs(opening.result())


def _limits(timeout_s: float, memory_mb: int, max_processes: int, disk_bytes: int) -> Limits:
    return Limits(timeout_s, memory_mb, max_processes, disk_bytes, TMP_BYTES, MAX_FILE_BYTES)


async def _run(code: str, inputs: list, limits: Limits, max_output_bytes: int) -> SandboxResult:
    uid = _sandbox_uid()
    python = interpreter()
    root = await asyncio.to_thread(_make_run_dir, code, uid)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    dirs = sandbox_files.SandboxDirs(ours)
    try:
        argv = command(
            shutil.which(BWRAP) or BWRAP, root, python, limits,
            sock_fd=theirs.fileno(), inputs=[(item.fd, item.name) for item in inputs],
        )  # fmt: skip
        pass_fds = (theirs.fileno(), *(item.fd for item in inputs))
        result = await _supervise(
            argv, dirs, uid, pass_fds, on_started=theirs.close, timeout_s=limits.timeout_s,
            max_output_bytes=max_output_bytes,
        )  # fmt: skip
        result.packages = python.has_packages
        if result.error is None:
            finishing = asyncio.ensure_future(asyncio.to_thread(_finish, result, dirs, inputs, limits))
            try:
                await asyncio.shield(finishing)
            except asyncio.CancelledError:
                await asyncio.wait([finishing])  # it reads through dirs' fds: they close only after
                raise
        return result
    finally:
        theirs.close()
        dirs.close()
        await asyncio.to_thread(_remove_tree, root)


def _finish(result: SandboxResult, dirs: sandbox_files.SandboxDirs, inputs: list, limits: Limits) -> None:
    """After the sandbox died: read back /mnt/data and say whether space ran out."""
    dirs.check()
    if dirs.fds:
        collected = sandbox_files.collect(
            dirs.fds[0], inputs, max_files=settings.CODE_INTERPRETER_MAX_FILES_OUT,
            max_bytes=settings.CODE_INTERPRETER_MAX_FILES_OUT_MB * 1024 * 1024, max_listed=MAX_LISTED_FILES,
        )  # fmt: skip
        result.files, result.output_files = collected.listed, collected.returned
        result.omitted_files = collected.omitted
    result.disk_full = dirs.full or ENOSPC_TEXT in result.stdout or ENOSPC_TEXT in result.stderr
    if result.disk_full:
        result.stderr += _note(
            result.stderr,
            f"[disk limit reached: this sandbox may write {_mb(limits.disk_bytes)} MB in /mnt/data "
            f"and {_mb(limits.tmp_bytes)} MB in /tmp]",
        )


async def _supervise(
    argv: list[str],
    dirs: sandbox_files.SandboxDirs,
    uid: int | None,
    pass_fds: tuple[int, ...],
    *,
    on_started: Callable[[], None],
    timeout_s: float,
    max_output_bytes: int,
) -> SandboxResult:
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_HOST_ENV,
            pass_fds=pass_fds,
            start_new_session=True,  # its own process group, so one killpg takes bwrap down
            **_identity(uid),
        )
    except OSError as exc:
        return _refused(f"could not start the sandbox: {exc}")
    on_started()  # our copy of the sandbox's socket end: closed, so only the sandbox holds it
    notes: list[str] = []

    def stop(note: str | None = None) -> None:
        if note and not notes:
            notes.append(note)
        _kill(proc)

    output = OutputBudget(max_output_bytes, on_overflow=stop)
    tasks = [
        asyncio.create_task(output.drain(proc.stdout, "stdout")),
        asyncio.create_task(output.drain(proc.stderr, "stderr")),
        asyncio.create_task(proc.wait()),
    ]
    watchdog = asyncio.create_task(_watch(dirs, stop))
    timed_out = False
    try:
        _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        if pending:
            timed_out = proc.returncode is None
            stop()
    finally:
        watchdog.cancel()
        if proc.returncode is None:  # also when this coroutine is cancelled: never leave it running
            _kill(proc)
        # Once bwrap is dead the kernel kills the whole PID namespace, which closes the pipes.
        _done, pending = await asyncio.wait(tasks, timeout=KILL_GRACE_S)
        for task in pending:
            task.cancel()
    stdout, stderr = output.text("stdout"), output.text("stderr")
    if notes:
        stderr += _note(stderr, notes[0])
    error = None
    if proc.returncode == 1 and stderr.startswith("bwrap:"):
        error = f"the sandbox failed to start: {stderr.strip()}"
    return SandboxResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=proc.returncode,
        timed_out=timed_out,
        truncated=output.truncated,
        duration_s=round(time.monotonic() - started, 3),
        error=error,
    )


async def _watch(dirs: sandbox_files.SandboxDirs, stop: Callable[[str], None]) -> None:
    # The tmpfs sizes bound the bytes; this bounds the entries (each costs kernel memory) and
    # notices a full disk while it is full (unlinked files vanish when the code exits).
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        if dirs.check() > MAX_WORKDIR_FILES:  # fstatvfs on a tmpfs: a syscall, no I/O
            stop(f"[stopped: the sandbox passed {MAX_WORKDIR_FILES} files and directories]")
            return


def _refused(message: str) -> SandboxResult:
    return SandboxResult(stdout="", stderr="", exit_code=None, timed_out=False, truncated=False, error=message)


def _note(text: str, note: str) -> str:
    return ("\n" if text and not text.endswith("\n") else "") + note + "\n"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _sandbox_uid() -> int | None:
    """The uid to drop to, or None to keep ours (already unprivileged)."""
    if os.geteuid() != 0:
        return None
    return int(getattr(settings, "CODE_INTERPRETER_UID", DEFAULT_UID))


def _identity(uid: int | None) -> dict:
    # Popen drops the uid in its own fork/exec path (no preexec_fn, which is unsafe with threads).
    return {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}


# bwrap itself gets no server secrets either (--clearenv covers only the sandboxed child).
_HOST_ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}


def _make_run_dir(code: str, uid: int | None) -> Path:
    """<tmp>/entities-sandbox-*/ holding main.py and launch.py, both bound read-only.

    Only these two small files are on the host's disk; everything the code writes is in
    the sandbox's tmpfs.
    """
    root = Path(tempfile.mkdtemp(prefix="entities-sandbox-"))
    os.chmod(root, 0o711)
    for name, text in (("main.py", code), ("launch.py", LAUNCHER)):
        (root / name).write_bytes(text.encode("utf-8", errors="replace"))
        os.chmod(root / name, 0o644)
    return root


def _remove_tree(root: Path) -> None:
    def make_writable_and_retry(func, path, _exc):
        os.chmod(os.path.dirname(path), 0o700)
        func(path)

    handler = {"onexc" if sys.version_info >= (3, 12) else "onerror": make_writable_and_retry}
    try:
        shutil.rmtree(root, **handler)
    except OSError:
        logger.warning("could not remove sandbox directory %s", root, exc_info=True)


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
