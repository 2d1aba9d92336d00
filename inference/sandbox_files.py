"""Files into and out of a sandbox's ``/mnt/data``, a size-limited tmpfs that lives in RAM.

In: each input is handed to bubblewrap as an open file descriptor (``--file FD DEST``), which
copies it onto the tmpfs before the code starts — nothing is written on the host's disk.

Out: the tmpfs disappears with the sandbox's mount namespace, so the sandbox's first step
(trusted, before any of the model's code runs) sends this process a directory descriptor of
``/mnt/data`` and ``/tmp`` over a socketpair (SCM_RIGHTS). An open descriptor keeps the
filesystem alive after the namespace is gone; once every sandboxed process is dead, the files
are read through it with ``openat(O_NOFOLLOW)``, so a symlink the code planted cannot make
this process read a host file.
"""

from __future__ import annotations

import array
import hashlib
import mimetypes
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

READ_CHUNK = 1024 * 1024
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}
MAX_DEPTH = 8  # subdirectories of /mnt/data looked into
MAX_NAME_BYTES = 255
FULL_SLACK_BYTES = 1024 * 1024  # within this of its size, a tmpfs counts as full


@dataclass
class SandboxFile:
    """A file the code created or changed under /mnt/data."""

    name: str  # relative to /mnt/data, e.g. "chart.png" or "out/table.csv"
    data: bytes
    mime_type: str

    @property
    def kind(self) -> str:
        return file_kind(self.name)


def file_kind(name: str) -> str:
    """"image" for the picture suffixes a chat can show inline, else "file"."""
    return "image" if Path(name).suffix.lower() in IMAGE_SUFFIXES else "file"


@dataclass
class Input:
    """An input file ready for bubblewrap: an fd positioned at 0, and its content hash."""

    name: str
    fd: int
    size: int
    sha256: str


@dataclass
class Collected:
    listed: list[dict] = field(default_factory=list)  # {"name", "size", "kind"}, as SandboxResult.files
    returned: list[SandboxFile] = field(default_factory=list)
    omitted: list[dict] = field(default_factory=list)  # {"name", "size", "reason"}


def check_input_name(name: str) -> str:
    """A plain file name (no directories, no dot-names); anything else is the caller's bug."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "/" in name
        or "\x00" in name
        or len(name.encode("utf-8", errors="replace")) > MAX_NAME_BYTES
    ):
        raise ValueError(f"an input file needs a plain file name (no '/', not '.' or '..'), got {name!r}")
    return name


def open_inputs(files: dict[str, bytes | str | os.PathLike] | None) -> list[Input]:
    """Open each input as an fd bubblewrap can copy from: bytes via a memfd, a path via open().

    Raises ValueError for a bad name and OSError for an unreadable path; on any error the
    fds opened so far are closed.
    """
    inputs: list[Input] = []
    try:
        for name, content in (files or {}).items():
            check_input_name(name)
            if isinstance(content, (bytes, bytearray, memoryview)):
                fd = os.memfd_create(f"input-{name}"[:200], os.MFD_CLOEXEC)
                inputs.append(Input(name, fd, len(content), hashlib.sha256(content).hexdigest()))
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view[:READ_CHUNK]) :]
            else:
                fd = os.open(os.fspath(content), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    os.close(fd)
                    raise ValueError(f"input file {name!r}: {os.fspath(content)} is not a regular file")
                digest, size = _hash_fd(fd)
                inputs.append(Input(name, fd, size, digest))
            os.lseek(inputs[-1].fd, 0, os.SEEK_SET)
    except BaseException:
        close_inputs(inputs)
        raise
    return inputs


def close_inputs(inputs: list[Input]) -> None:
    for item in inputs:
        try:
            os.close(item.fd)
        except OSError:
            pass


def receive_dir_fds(sock: socket.socket) -> list[int]:
    """The directory fds the sandbox sent, without waiting (an empty list if none yet)."""
    try:
        _msg, ancillary, _flags, _addr = sock.recvmsg(
            16, socket.CMSG_SPACE(4 * 4), socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
        )
    except OSError:  # BlockingIOError: not sent yet
        return []
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    for extra in fds[2:]:  # the launcher sends two; never keep more
        os.close(extra)
    return list(fds[:2])


class SandboxDirs:
    """The sandbox's /mnt/data and /tmp, as the directory fds it sends over ``sock``."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.fds: list[int] = []
        self.full = False  # a tmpfs was seen with less than FULL_SLACK_BYTES free

    def receive(self) -> bool:
        if not self.fds:
            self.fds = receive_dir_fds(self.sock)
        return len(self.fds) == 2

    def check(self) -> int:
        """Note a full tmpfs; return the files and directories in use (0 until the fds came)."""
        if not self.receive():
            return 0
        inodes = 0
        for fd in self.fds:
            free, used = space_left(fd)
            self.full = self.full or free < FULL_SLACK_BYTES
            inodes = max(inodes, used)
        return inodes

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self.sock.close()


def space_left(dir_fd: int) -> tuple[int, int]:
    """(free bytes, inodes in use) of the filesystem behind ``dir_fd``."""
    info = os.fstatvfs(dir_fd)
    return info.f_bavail * info.f_frsize, info.f_files - info.f_ffree


def collect(dir_fd: int, inputs: list[Input], *, max_files: int, max_bytes: int, max_listed: int) -> Collected:
    """Files the code created or changed under /mnt/data: listed, and returned within the bounds.

    Call only once every sandboxed process is dead, so nothing changes while it is read.
    An input left byte-for-byte as it was is not a change. Files past ``max_files`` or
    ``max_bytes`` (all returned files together) are listed and ``omitted`` with the reason.
    """
    originals = {item.name: (item.size, item.sha256) for item in inputs}
    result = Collected()
    total = 0
    for name, fd in _regular_files(dir_fd):
        try:
            size = os.fstat(fd).st_size
            original = originals.get(name)
            if original and original[0] == size and _hash_fd(fd)[0] == original[1]:
                continue
            if len(result.listed) < max_listed:
                result.listed.append({"name": name, "size": size, "kind": file_kind(name)})
            if len(result.returned) >= max_files:
                result.omitted.append({"name": name, "size": size, "reason": f"more than {max_files} files"})
            elif total + size > max_bytes:
                reason = f"the files returned from one run are limited to {max_bytes // (1024 * 1024)} MB in all"
                result.omitted.append({"name": name, "size": size, "reason": reason})
            else:
                data = _read_fd(fd, size)
                total += len(data)
                mime = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
                result.returned.append(SandboxFile(name=name, data=data, mime_type=mime))
        finally:
            os.close(fd)
    return result


def _regular_files(dir_fd: int, prefix: str = "", depth: int = 0):
    """(relative name, open fd) of each regular file, sorted; symlinks and specials skipped."""
    try:
        entries = sorted(os.listdir(dir_fd))
    except OSError:
        return
    for entry in entries:
        try:
            info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        name = f"{prefix}{entry}"
        if stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
            try:
                sub = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                yield from _regular_files(sub, f"{name}/", depth + 1)
            finally:
                os.close(sub)
        elif stat.S_ISREG(info.st_mode):
            try:
                fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError:
                continue
            if stat.S_ISREG(os.fstat(fd).st_mode):
                yield name, fd
            else:
                os.close(fd)


def _hash_fd(fd: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    offset = 0
    while chunk := os.pread(fd, READ_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _read_fd(fd: int, size: int) -> bytes:
    chunks, offset = [], 0
    while offset < size and (chunk := os.pread(fd, min(READ_CHUNK, size - offset), offset)):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)
