"""Child processes of a benchmark: started on loopback, measured, and always stopped.

Each child gets its own session (process group), so stopping it by its id also stops
the workers it forked. Every child is registered for an atexit sweep, and SIGTERM to the
harness becomes SystemExit so the sweep runs then too.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

STOP_TIMEOUT = 8.0
TREE_REFRESH_SECONDS = 2.0
_children: list["Child"] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Child:
    def __init__(self, name: str, argv: list[str], *, env: dict, cwd: Path, log_dir: Path, port: int | None = None):
        self.name, self.argv, self.port = name, argv, port
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        _children.append(self)
        self._procs: dict[int, psutil.Process] = {}
        self._tree: list[psutil.Process] = []
        self._tree_at = -1e9

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, path: str = "/", timeout: float = 60.0) -> None:
        """Wait until an HTTP GET of ``path`` answers (any status); fail with the log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on {self.url}{path} within {timeout:.0f} s:\n{self.log_tail()}")

    def processes(self) -> list[psutil.Process]:
        """The child and its descendants (uvicorn workers); the list is re-read at most every
        ``TREE_REFRESH_SECONDS`` (a /proc scan is not free while the client is measuring)."""
        now = time.monotonic()
        if now - self._tree_at > TREE_REFRESH_SECONDS:
            try:
                root = psutil.Process(self.pid)
                found = [root] + root.children(recursive=True)
            except psutil.Error:
                found = []
            for proc in found:
                self._procs.setdefault(proc.pid, proc)
            self._tree = [self._procs[p.pid] for p in found]
            self._tree_at = now
        return self._tree

    def worker_pids(self) -> list[int]:
        """The processes doing the work: the workers when there are any, else the child itself."""
        procs = self.processes()
        return [p.pid for p in procs[1:]] or [p.pid for p in procs]

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.processes():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.popen.wait(5)
        else:
            # The leader is gone; its group may still hold forked workers.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()
        if self in _children:
            _children.remove(self)


def run_checked(argv: list[str], *, env: dict, cwd: Path, timeout: float) -> str:
    """Run a short command to completion; its stdout, or an error with its output."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def stop_all() -> None:
    for child in reversed(list(_children)):
        try:
            child.stop()
        except Exception:  # noqa: BLE001 - keep stopping the others
            pass


def _on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def install_handlers() -> None:
    atexit.register(stop_all)
    if threading_is_main():
        signal.signal(signal.SIGTERM, _on_sigterm)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise the soft open-files limit (inherited by children): 1,000 streams need ~3,000 fds."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


PYTHON = sys.executable
