"""The sandbox's writable space cannot grow the host's disk, and sandboxes queue past a bound.

Issue 14, item 4: the old cap polled file sizes in a host directory, so files deleted while
kept open were never counted (16 × 64 MB grew the host disk by 1 GB) and 40 × 64 MB of
``posix_fallocate`` landed before the first check. Each attack here runs for real under
bubblewrap while a thread samples the host filesystem where sandboxes keep their files.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time

import pytest

from inference.sandbox import run_python, sandbox_status
from inference.sandbox_slots import SLOTS
from inference.tools.code_interpreter import run_code_interpreter
from testsupport.requirements import require, require_tool

MB = 1024 * 1024
CAP_MB = 128


@pytest.fixture(autouse=True)
def needs_sandbox():
    require_tool("bwrap", "the code interpreter runs code under bubblewrap")
    require(*sandbox_status())


@pytest.fixture
def disk_cap(settings):
    settings.CODE_INTERPRETER_DISK_MB = CAP_MB
    return CAP_MB * MB


class HostDiskSampler:
    """The most the host filesystem under the temp directory grew while the block ran."""

    def __init__(self, path: str = tempfile.gettempdir()):
        self.path = path
        self.growth = 0
        self._stop = threading.Event()

    def _used(self) -> int:
        info = os.statvfs(self.path)
        return (info.f_blocks - info.f_bfree) * info.f_frsize

    def _sample(self, baseline: int) -> None:
        while not self._stop.is_set():
            self.growth = max(self.growth, self._used() - baseline)
            time.sleep(0.002)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, args=(self._used(),), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


# Relative names: the files land in the working directory, wherever the sandbox puts it.
UNLINKED_BUT_OPEN = """\
import os, time
kept, error, written = [], None, 0
chunk = b'x' * (1024 * 1024)
for i in range(16):
    f = open(f'hidden{i}', 'wb', buffering=0)
    os.unlink(f.name)
    kept.append(f)
    try:
        for _ in range(64):
            f.write(chunk)
            written += 1
    except OSError as exc:
        error = exc.strerror
        break
print(len(kept), written, error, flush=True)
time.sleep(1)  # keep them open (and, before the fix, on the host's disk)
"""

FALLOCATE = """\
import os, time
done, error = 0, None
for i in range(40):
    fd = os.open(f'block{i}', os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, 64 * 1024 * 1024)
        done += 1
    except OSError as exc:
        error = exc.strerror
        break
print(done, error, flush=True)
time.sleep(1)
"""


async def test_files_deleted_while_open_cannot_pass_the_cap_or_touch_the_host_disk(disk_cap):
    with HostDiskSampler() as host:
        result = await run_python(UNLINKED_BUT_OPEN, timeout_s=20)

    assert host.growth < disk_cap, f"the host disk grew by {host.growth // MB} MB"
    # Two 64 MB files fill the 128 MB tmpfs; the third is refused at its first byte.
    assert result.stdout == "3 128 No space left on device\n"
    assert result.disk_full is True
    assert result.stderr.endswith(
        f"[disk limit reached: this sandbox may write {CAP_MB} MB in /mnt/data and 64 MB in /tmp]\n"
    )
    assert result.timed_out is False and result.exit_code == 0


async def test_fallocate_cannot_reserve_past_the_cap_or_touch_the_host_disk(disk_cap):
    with HostDiskSampler() as host:
        result = await run_python(FALLOCATE, timeout_s=20)

    assert host.growth < disk_cap, f"the host disk grew by {host.growth // MB} MB"
    assert result.stdout == "2 No space left on device\n"
    assert result.disk_full is True
    assert [(f["name"], f["size"]) for f in result.files] == [("block0", 64 * MB), ("block1", 64 * MB), ("block2", 0)]


async def test_the_model_is_told_the_disk_limit(disk_cap):
    outputs, model_text, ok = await run_code_interpreter(FALLOCATE)

    assert ok is True
    assert "2 No space left on device\n" in model_text
    assert f"[disk limit reached: this sandbox may write {CAP_MB} MB in /mnt/data and 64 MB in /tmp]" in model_text


async def test_tmp_is_capped_too():
    code = (
        "import os\n"
        "for i in range(3):\n"
        "    fd = os.open(f'/tmp/big{i}', os.O_CREAT | os.O_WRONLY)\n"
        "    try:\n"
        "        os.posix_fallocate(fd, 0, 30 * 1024 * 1024)\n"
        "    except OSError as exc:\n"
        "        print(i, exc.strerror)\n"
    )

    result = await run_python(code)

    assert result.stdout == "2 No space left on device\n"  # /tmp holds 64 MB
    assert result.disk_full is True


async def test_too_many_files_stop_the_program(monkeypatch):
    from inference import sandbox

    monkeypatch.setattr(sandbox, "MAX_WORKDIR_FILES", 200)
    code = "import itertools, time\nfor i in itertools.count():\n    open(f'f{i}', 'w').close()\n    time.sleep(0.001)\n"

    result = await run_python(code, timeout_s=10)

    assert result.timed_out is False
    assert result.stderr == "[stopped: the sandbox passed 200 files and directories]\n"


def _intervals(results) -> list[tuple[float, float]]:
    return [tuple(map(float, r.stdout.split())) for r in results]


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    return max(sum(1 for s, e in intervals if s <= start < e) for start, _ in intervals)


SLEEPER = "import time\nstart = time.monotonic()\ntime.sleep({seconds})\nprint(start, time.monotonic())\n"


async def test_at_most_the_configured_number_of_sandboxes_run_at_once(settings):
    settings.CODE_INTERPRETER_MAX_CONCURRENT = 2
    settings.CODE_INTERPRETER_QUEUE_TIMEOUT = 60

    results = await asyncio.gather(*(run_python(SLEEPER.format(seconds=2), timeout_s=20) for _ in range(5)))

    assert [r.error for r in results] == [None] * 5
    assert _most_at_once(_intervals(results)) == 2  # side by side, but never three
    assert SLOTS.running == 0


async def test_a_call_that_waits_too_long_gets_a_clear_tool_error(settings):
    settings.CODE_INTERPRETER_MAX_CONCURRENT = 1
    settings.CODE_INTERPRETER_QUEUE_TIMEOUT = 0.5
    busy = asyncio.ensure_future(run_python(SLEEPER.format(seconds=3), timeout_s=20))
    await _until(lambda: SLOTS.running == 1)

    started = time.monotonic()
    outputs, model_text, ok = await run_code_interpreter("print('never runs')")

    assert time.monotonic() - started < 2
    assert ok is False
    assert model_text == (
        "[code interpreter unavailable: the code interpreter is busy: all 1 sandboxes of this server process "
        "are in use (CODE_INTERPRETER_MAX_CONCURRENT) and none was free within 0.5 s; try again shortly]"
    )
    assert outputs == [{"type": "logs", "logs": model_text}]
    assert (await busy).error is None
    assert SLOTS.running == 0


async def test_a_cancelled_waiter_leaves_no_slot_taken(settings):
    settings.CODE_INTERPRETER_MAX_CONCURRENT = 1
    settings.CODE_INTERPRETER_QUEUE_TIMEOUT = 30
    busy = asyncio.ensure_future(run_python(SLEEPER.format(seconds=1), timeout_s=20))
    await _until(lambda: SLOTS.running == 1)
    waiting = asyncio.ensure_future(run_python("print('queued')"))
    await asyncio.sleep(0.2)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await busy

    assert SLOTS.running == 0
    assert (await run_python("print('next')")).stdout == "next\n"


async def _until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)
