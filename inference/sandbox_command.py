"""The bubblewrap command line of one sandbox, and the Python it runs.

Kept apart from ``inference.sandbox`` (which supervises the run) so each stays readable;
docs/tools.md describes every flag's purpose.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's interpreter, never the server's virtualenv
PRLIMIT = "/usr/bin/prlimit"
VENV_MOUNT = "/opt/venv"  # where the sandbox's own virtualenv appears, read-only
VENV_STAMP = ".installed"  # written by `make sandbox-env` once every package is in
DATA_DIR = "/mnt/data"
TMP_DIR = "/tmp"
MAX_OPEN_FILES = 256
PACKAGES_HINT = (
    "this code interpreter has only the Python standard library; "
    "numpy, pandas, matplotlib, pillow and openpyxl come with `make sandbox-env` on the server"
)

# The sandbox's first step, before any of the model's code: send this process directory fds
# of /mnt/data and /tmp (see inference.sandbox_files), then replace itself with a fresh
# interpreter running the code, so tracebacks and /proc/self/fd show nothing of it.
# It also copies matplotlib's font list, built by `make sandbox-env`, into the writable
# MPLCONFIGDIR: without it every run would rebuild it (0.4–1.5 s on a busy machine).
LAUNCHER = """\
import array, os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
fds = [os.open(path, os.O_RDONLY | os.O_DIRECTORY) for path in ("/mnt/data", "/tmp")]
sock.sendmsg([b"dirs"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
sock.close()
for fd in fds:
    os.close(fd)
fonts, cache = "/opt/venv/share/matplotlib", os.environ["MPLCONFIGDIR"]
if os.path.isdir(fonts):
    os.makedirs(cache, exist_ok=True)
    for name in os.listdir(fonts):
        with open(os.path.join(fonts, name), "rb") as src, open(os.path.join(cache, name), "wb") as dst:
            dst.write(src.read())
os.execv(sys.executable, [sys.executable, "-I", "-u", "/sandbox/main.py"])
"""


@dataclass(frozen=True)
class Interpreter:
    """The Python a sandbox runs: the sandbox virtualenv when installed, else the system's."""

    python: str  # the path inside the sandbox
    venv: str | None  # the host path bound at VENV_MOUNT, if any
    note: str = ""  # why there is no virtualenv, when there is none

    @property
    def has_packages(self) -> bool:
        return self.venv is not None


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_mb: int
    max_processes: int
    disk_bytes: int
    tmp_bytes: int
    file_bytes: int


def interpreter() -> Interpreter:
    """The sandbox virtualenv (``CODE_INTERPRETER_VENV``) if usable, else the system Python.

    Usable: `make sandbox-env` finished (its stamp file), it is built on the system Python
    (``bin/python`` resolving under ``/usr``, which the sandbox sees), and the sandbox's uid
    can reach it (bwrap resolves the bind source as that uid). ``note`` says why not.
    """
    venv = getattr(settings, "CODE_INTERPRETER_VENV", "")
    root = Path(venv) if venv else None
    if root is None or not (root / VENV_STAMP).is_file():
        return Interpreter(SYSTEM_PYTHON, None, "the sandbox's packages are not installed: run `make sandbox-env`")
    try:
        target = (root / "bin" / "python").resolve(strict=True)
    except OSError:
        target = None
    if target is None or not target.is_relative_to("/usr"):
        return Interpreter(SYSTEM_PYTHON, None, f"{root} is not a virtualenv on {SYSTEM_PYTHON} (make sandbox-env)")
    root = root.resolve()
    if not _reachable_by_others(root):
        return Interpreter(
            SYSTEM_PYTHON, None,
            f"the sandbox's user cannot reach {root}: every directory above it must be world-executable "
            "(chmod o+x), or set CODE_INTERPRETER_VENV to a copy elsewhere",
        )  # fmt: skip
    return Interpreter(f"{VENV_MOUNT}/bin/python", str(root), "")


def _reachable_by_others(path: Path) -> bool:
    # As root the sandbox runs as nobody, who needs search permission on every parent
    # (bwrap 0.8 resolves even --ro-bind-fd through the path, so an fd does not help).
    if os.geteuid() != 0:
        return True  # the sandbox keeps our own uid
    try:
        return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))
    except OSError:
        return False


def command(
    bwrap: str,
    root: Path,
    python: Interpreter,
    limits: Limits,
    *,
    sock_fd: int,
    inputs: list[tuple[int, str]],
) -> list[str]:
    """bwrap's argv: ``root`` holds main.py and launch.py; ``inputs`` are (fd, name) pairs."""
    cpu = math.ceil(limits.timeout_s) + 1  # the wall clock normally fires first; CPU time is the backstop
    path = f"{VENV_MOUNT}/bin:/usr/bin:/bin" if python.venv else "/usr/bin:/bin"
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",  # explicit, so --disable-userns is accepted
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--hostname", "sandbox",
        "--clearenv",
        "--setenv", "PATH", path,
        "--setenv", "HOME", TMP_DIR,
        "--setenv", "LANG", "C.UTF-8",
        # matplotlib draws to files only, and keeps its cache in the sandbox's own /tmp.
        "--setenv", "MPLBACKEND", "Agg",
        "--setenv", "MPLCONFIGDIR", f"{TMP_DIR}/matplotlib",
        # One BLAS/OpenMP thread: threads count against RLIMIT_NPROC, and a many-core host
        # would otherwise have numpy start one per core at import.
        "--setenv", "OPENBLAS_NUM_THREADS", "1",
        "--setenv", "OMP_NUM_THREADS", "1",
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):  # merged /usr (Debian 12): keep the links
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]
    # fontconfig's configuration (no secrets): matplotlib asks `fc-list` for the system fonts.
    argv += ["--ro-bind-try", "/etc/fonts", "/etc/fonts"]
    for hidden in hidden_paths():
        argv += ["--tmpfs", hidden]
    if python.venv:
        argv += ["--ro-bind", python.venv, VENV_MOUNT]
    argv += [
        "--proc", "/proc",
        "--dev", "/dev",
        # All the space the code can write is tmpfs with a size: the kernel refuses the byte
        # past it (ENOSPC), whether the file is open, unlinked or fallocate()d.
        "--size", str(limits.tmp_bytes), "--tmpfs", TMP_DIR,
        "--size", str(limits.disk_bytes), "--tmpfs", DATA_DIR,
    ]  # fmt: skip
    for fd, name in inputs:
        argv += ["--perms", "0644", "--file", str(fd), f"{DATA_DIR}/{name}"]
    argv += [
        "--ro-bind", str(root / "main.py"), "/sandbox/main.py",
        "--ro-bind", str(root / "launch.py"), "/sandbox/launch.py",
        # The new root and /dev are tmpfs in RAM; read-only they cannot be filled.
        "--remount-ro", "/dev",
        "--remount-ro", "/",
        "--chdir", DATA_DIR,
        "--",
        PRLIMIT,
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={MAX_OPEN_FILES}",
        "--core=0",
        "--",
        python.python, "-I", "/sandbox/launch.py", str(sock_fd),
    ]  # fmt: skip
    return argv


def hidden_paths() -> list[str]:
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
