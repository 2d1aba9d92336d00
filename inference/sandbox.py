"""Run untrusted Python in a separate, locked-down process — never inside the server.

The contract of ``run_python``: the code runs under bubblewrap as Debian's
``/usr/bin/python3 -I``, with

* fresh user, PID, IPC, UTS, cgroup and network namespaces (no network at all, not even
  loopback to the server) and no way to create further user namespaces;
* a filesystem of read-only ``/usr`` (plus the ``/bin``, ``/lib*`` links), a small tmpfs
  ``/tmp`` and an empty per-run ``/work`` (the working directory), everything else
  read-only and empty: the server's source tree, database and environment are not there;
* an unprivileged uid: as root the sandbox runs as ``CODE_INTERPRETER_UID`` (65534), so
  the kernel enforces RLIMIT_NPROC, which it ignores for real root;
* rlimits on CPU, address space, processes, file size, open files and core dumps, a
  wall-clock limit enforced here, a byte cap on output and a size cap on ``/work``.

It refuses to run anything when bubblewrap is missing or cannot build a sandbox
(``sandbox_status``). Each call is a fresh process: nothing survives between calls.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

BWRAP = "bwrap"
PYTHON = "/usr/bin/python3"  # the system interpreter, never the server's virtualenv
PRLIMIT = "/usr/bin/prlimit"
INSTALL_HINT = "the code interpreter needs bubblewrap: apt-get install bubblewrap"

DEFAULT_UID = 65534  # nobody/nogroup on Debian; used only when the server runs as root
MAX_FILE_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE: the largest single file the code may write
MAX_WORKDIR_BYTES = 256 * 1024 * 1024  # all of /work together; checked while the code runs
MAX_WORKDIR_FILES = 1000
TMP_BYTES = 64 * 1024 * 1024  # tmpfs /tmp lives in RAM, so it gets a size
MAX_OPEN_FILES = 256
MAX_LISTED_FILES = 50
WATCH_INTERVAL_S = 0.25
KILL_GRACE_S = 5.0
READ_CHUNK = 64 * 1024
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None  # bwrap reports a signal death as 128 + signal number
    timed_out: bool
    truncated: bool
    files: list[dict] = field(default_factory=list)  # {"name", "size", "kind": "image" | "file"}
    duration_s: float = 0.0
    error: str | None = None  # set when the sandbox itself failed or refused; the code did not run


def sandbox_status() -> tuple[bool, str]:
    """Whether code can run confined here; when not, what to install or change."""
    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        return False, INSTALL_HINT
    if not os.access(PYTHON, os.X_OK):
        return False, f"the code interpreter needs the system Python at {PYTHON}: apt-get install python3"
    if not os.access(PRLIMIT, os.X_OK):
        return False, f"the code interpreter needs {PRLIMIT}: apt-get install util-linux"
    return _probe(bwrap, _sandbox_uid())


@functools.lru_cache(maxsize=4)
def _probe(bwrap: str, uid: int | None) -> tuple[bool, str]:
    # A real (trivial) run with the real flags: bwrap may be installed yet unable to work,
    # e.g. where unprivileged user namespaces are disabled or bwrap is older than 0.8.
    root = _make_run_dir("pass\n", uid)
    try:
        argv = _command(bwrap, root, timeout_s=5, memory_mb=256, max_processes=8)
        completed = subprocess.run(
            argv, capture_output=True, timeout=30, env=_HOST_ENV, start_new_session=True, **_identity(uid)
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bubblewrap could not start a sandbox: {exc}"
    finally:
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
) -> SandboxResult:
    """Run ``code`` in a fresh sandbox and report what happened; never raises for the code's faults."""
    timeout_s = timeout_s or settings.CODE_INTERPRETER_TIMEOUT
    memory_mb = memory_mb or settings.CODE_INTERPRETER_MEMORY_MB
    max_output_bytes = max_output_bytes or settings.CODE_INTERPRETER_MAX_OUTPUT_BYTES
    max_processes = max_processes or settings.CODE_INTERPRETER_MAX_PROCESSES
    available, message = await asyncio.to_thread(sandbox_status)
    if not available:
        return SandboxResult(stdout="", stderr="", exit_code=None, timed_out=False, truncated=False, error=message)
    uid = _sandbox_uid()
    root = await asyncio.to_thread(_make_run_dir, code, uid)
    try:
        argv = _command(
            shutil.which(BWRAP) or BWRAP, root, timeout_s=timeout_s, memory_mb=memory_mb, max_processes=max_processes
        )
        return await _supervise(argv, root / "work", uid, timeout_s=timeout_s, max_output_bytes=max_output_bytes)
    finally:
        await asyncio.to_thread(_remove_tree, root)


async def _supervise(
    argv: list[str], work: Path, uid: int | None, *, timeout_s: float, max_output_bytes: int
) -> SandboxResult:
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_HOST_ENV,
            start_new_session=True,  # its own process group, so one killpg takes bwrap down
            **_identity(uid),
        )
    except OSError as exc:
        return SandboxResult(
            stdout="", stderr="", exit_code=None, timed_out=False, truncated=False,
            error=f"could not start the sandbox: {exc}",
        )
    notes: list[str] = []

    def stop(note: str | None = None) -> None:
        if note and not notes:
            notes.append(note)
        _kill(proc)

    output = _Output(max_output_bytes, on_overflow=stop)
    tasks = [
        asyncio.create_task(output.drain(proc.stdout, "stdout")),
        asyncio.create_task(output.drain(proc.stderr, "stderr")),
        asyncio.create_task(proc.wait()),
    ]
    watchdog = asyncio.create_task(_watch_workdir(work, stop))
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
        stderr += ("\n" if stderr and not stderr.endswith("\n") else "") + notes[0] + "\n"
    error = None
    if proc.returncode == 1 and stderr.startswith("bwrap:"):
        error = f"the sandbox failed to start: {stderr.strip()}"
    return SandboxResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=proc.returncode,
        timed_out=timed_out,
        truncated=output.truncated,
        files=await asyncio.to_thread(_list_files, work),
        duration_s=round(time.monotonic() - started, 3),
        error=error,
    )


class _Output:
    """stdout and stderr under one byte budget; past it, the sandbox is stopped."""

    def __init__(self, limit: int, *, on_overflow: Callable[[], None]):
        self.limit = limit
        self.used = 0
        self.truncated = False
        self._on_overflow = on_overflow
        self._chunks = {"stdout": bytearray(), "stderr": bytearray()}
        self._overflowed: str | None = None

    async def drain(self, stream: asyncio.StreamReader, name: str) -> None:
        while chunk := await stream.read(READ_CHUNK):
            room = self.limit - self.used
            self._chunks[name] += chunk[: max(room, 0)]
            self.used += min(len(chunk), max(room, 0))
            if len(chunk) > room and not self.truncated:
                # Stopping (not draining to the end) keeps a runaway printer from costing
                # the server's event loop CPU for the whole time limit.
                self.truncated = True
                self._overflowed = name
                self._on_overflow()

    def text(self, name: str) -> str:
        text = self._chunks[name].decode("utf-8", errors="replace")
        if self._overflowed == name:
            text += f"\n[output truncated after {self.limit} bytes; the program was stopped]\n"
        return text


async def _watch_workdir(work: Path, stop: Callable[[str], None]) -> None:
    # RLIMIT_FSIZE caps each file, not how many: this bounds the host disk /work uses.
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        size, count = await asyncio.to_thread(_usage, work)
        if size > MAX_WORKDIR_BYTES or count > MAX_WORKDIR_FILES:
            stop(
                f"[stopped: the working directory passed {MAX_WORKDIR_BYTES // (1024 * 1024)} MB "
                f"or {MAX_WORKDIR_FILES} files]"
            )
            return


def _usage(work: Path) -> tuple[int, int]:
    size = count = 0
    for dirpath, dirnames, filenames in os.walk(work):
        for name in filenames + dirnames:
            count += 1
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
        if count > MAX_WORKDIR_FILES:
            break
    return size, count


def _list_files(work: Path) -> list[dict]:
    """The regular files the code left in /work (symlinks are never followed)."""
    files = []
    for dirpath, _dirnames, filenames in os.walk(work):
        for name in filenames:
            path = Path(dirpath, name)
            try:
                info = path.lstat()
            except OSError:
                continue
            if not path.is_symlink() and path.is_file():
                kind = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "file"
                files.append({"name": str(path.relative_to(work)), "size": info.st_size, "kind": kind})
    return sorted(files, key=lambda f: f["name"])[:MAX_LISTED_FILES]


def _command(bwrap: str, root: Path, *, timeout_s: float, memory_mb: int, max_processes: int) -> list[str]:
    cpu = math.ceil(timeout_s) + 1  # the wall clock normally fires first; CPU time is the backstop
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",  # explicit, so --disable-userns is accepted
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--hostname", "sandbox",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/work",
        "--setenv", "LANG", "C.UTF-8",
        "--ro-bind", "/usr", "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):  # merged /usr (Debian 12): keep the links
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]
    for hidden in _hidden_paths():
        argv += ["--tmpfs", hidden]
    argv += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
        "--bind", str(root / "work"), "/work",
        "--ro-bind", str(root / "main.py"), "/sandbox/main.py",
        # The new root and /dev are tmpfs in RAM; read-only they cannot be filled.
        "--remount-ro", "/dev",
        "--remount-ro", "/",
        "--chdir", "/work",
        "--",
        PRLIMIT,
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={memory_mb * 1024 * 1024}",
        f"--nproc={max_processes}",
        f"--fsize={MAX_FILE_BYTES}",
        f"--nofile={MAX_OPEN_FILES}",
        "--core=0",
        "--",
        PYTHON, "-I", "-u", "/sandbox/main.py",
    ]  # fmt: skip
    return argv


def _hidden_paths() -> list[str]:
    """Server paths that sit inside a tree the sandbox sees (e.g. a checkout in /usr/src)."""
    candidates = [Path(settings.BASE_DIR)]
    database = settings.DATABASES.get("default", {})
    if database.get("ENGINE", "").endswith("sqlite3") and database.get("NAME"):
        candidates.append(Path(str(database["NAME"])).parent)
    visible_roots = [Path("/usr"), *(Path(p) for p in ("/bin", "/sbin", "/lib", "/lib64") if not os.path.islink(p))]
    hidden = []
    for path in candidates:
        path = path.resolve()
        if any(path != root and path.is_relative_to(root) for root in visible_roots) and path.is_dir():
            hidden.append(str(path))
    return hidden


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
    """<tmp>/entities-sandbox-*/ holding main.py (bound read-only) and work/ (bound as /work)."""
    root = Path(tempfile.mkdtemp(prefix="entities-sandbox-"))
    os.chmod(root, 0o711)
    script = root / "main.py"
    script.write_bytes(code.encode("utf-8", errors="replace"))
    os.chmod(script, 0o644)
    work = root / "work"
    work.mkdir(mode=0o700)
    if uid is not None:
        os.chown(work, uid, uid)
    return root


def _remove_tree(root: Path) -> None:
    def make_writable_and_retry(func, path, _exc):
        os.chmod(os.path.dirname(path), 0o700)  # the code may have locked a directory of its own
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
