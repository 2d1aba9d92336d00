"""Hostile code in the code interpreter: each attempt is contained and this process unharmed.

Every case runs real code through run_python / run_code_interpreter under bubblewrap.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from inference import sandbox
from inference.sandbox import run_python, sandbox_status
from inference.sandbox_command import interpreter
from inference.tools.code_interpreter import run_code_interpreter
from testsupport.requirements import require, require_tool


@pytest.fixture(autouse=True)
def needs_sandbox():
    require_tool("bwrap", "the code interpreter runs code under bubblewrap")
    require(*sandbox_status())


@pytest.fixture(autouse=True)
def host_unharmed():
    yield
    assert subprocess.run(["/bin/true"], timeout=10).returncode == 0  # we can still fork and exec
    os.kill(os.getpid(), 0)


def _output(result) -> str:
    return result.stdout + result.stderr


async def test_it_keeps_the_servers_environment_secret(monkeypatch):
    secrets = {
        "SECRET_KEY": f"sk-django-{uuid.uuid4().hex}",
        "OPENAI_API_KEY": f"sk-openai-{uuid.uuid4().hex}",
        "DATABASE_URL": f"postgres://u:{uuid.uuid4().hex}@db/entities",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    code = (
        "import os, glob\n"
        "print(sorted(os.environ.items()))\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        "        print(path, open(path, 'rb').read())\n"
        "    except OSError as exc:\n"
        "        print(path, exc)\n"
    )

    result = await run_python(code)

    path = "/opt/venv/bin:/usr/bin:/bin" if interpreter().has_packages else "/usr/bin:/bin"
    assert result.stdout.startswith(
        "[('HOME', '/tmp'), ('LANG', 'C.UTF-8'), ('MPLBACKEND', 'Agg'), ('MPLCONFIGDIR', '/tmp/matplotlib'), "
        f"('OMP_NUM_THREADS', '1'), ('OPENBLAS_NUM_THREADS', '1'), ('PATH', '{path}'), ('PWD', '/mnt/data')]\n"
    )
    for value in secrets.values():
        assert value not in _output(result)


async def test_it_cannot_read_the_database_or_the_settings():
    base_dir = Path(django_settings.BASE_DIR)
    targets = [base_dir / "entities_project" / "settings.py", base_dir / "db.sqlite3", base_dir / ".env"]
    assert targets[0].exists()
    code = (
        "import os\n"
        f"print(os.path.exists({str(base_dir)!r}))\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        print(len(open(path, 'rb').read()))\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
        "print(sorted(os.listdir('/')))\n"
    )

    result = await run_python(code)

    venv = ["opt"] if interpreter().has_packages else []  # the sandbox's own packages, read-only
    top = sorted(["bin", "dev", "etc", "lib", "lib64", "mnt", "proc", "sandbox", "sbin", "tmp", "usr", *venv])
    assert result.stdout == "False\nFileNotFoundError\nFileNotFoundError\nFileNotFoundError\n" + f"{top}\n"


async def test_it_inherits_none_of_this_processes_open_files():
    with open(Path(django_settings.BASE_DIR) / "entities_project" / "settings.py", "rb"):
        result = await run_python("import os\nprint(sorted(os.listdir('/proc/self/fd')))")

    assert result.stdout == "['0', '1', '2', '3']\n"  # stdin, stdout, stderr and listdir's own


async def test_it_cannot_reach_the_server_on_loopback():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print(type(exc).__name__)\n"
        )

        result = await run_python(code)

        assert result.stdout == "ConnectionRefusedError\n"  # the sandbox's own, empty loopback
        with pytest.raises(BlockingIOError):
            listener.accept()


async def test_it_has_no_route_to_the_internet():
    code = (
        "import socket, time\n"
        "started = time.monotonic()\n"
        "for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):\n"
        "    s = socket.socket(socket.AF_INET, kind)\n"
        "    s.settimeout(5)\n"
        "    try:\n"
        "        s.connect(('1.1.1.1', 53)) if kind == socket.SOCK_STREAM else s.sendto(b'x', ('1.1.1.1', 53))\n"
        "        print('sent')\n"
        "    except OSError as exc:\n"
        "        print(exc.errno, exc.strerror)\n"
        "print(time.monotonic() - started < 0.5)\n"
        "print([line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]])\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )

    result = await run_python(code)

    assert result.stdout == (
        "101 Network is unreachable\n"
        "101 Network is unreachable\n"
        "True\n"
        "['lo']\n"
        "gaierror\n"
    )


async def test_it_stops_an_endless_loop_at_the_time_limit():
    started = time.monotonic()

    result = await run_python("while True:\n    pass", timeout_s=1)

    assert result.timed_out is True
    assert 1 <= time.monotonic() - started < 3


async def test_it_kills_the_program_when_the_run_is_cancelled():
    marker = "spin" + uuid.uuid4().hex[:10]
    code = f"open('/proc/self/comm', 'w').write({marker!r})\nwhile True:\n    pass\n"
    task = asyncio.ensure_future(run_python(code, timeout_s=60))
    await asyncio.sleep(0.5)
    assert _processes_named(marker)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert _remaining_after(marker) == []


async def test_it_refuses_twenty_gigabytes():
    result = await run_python("x = bytearray(20 * 1024**3)\nprint('allocated')")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.endswith("MemoryError\n")


async def test_it_caps_memory_grown_piece_by_piece():
    code = (
        "chunks = []\n"
        "try:\n"
        "    while True:\n"
        "        chunks.append(bytearray(16 * 1024 * 1024))\n"
        "except MemoryError:\n"
        "    print(len(chunks) * 16)\n"
    )

    result = await run_python(code, memory_mb=128)

    assert 0 < int(result.stdout) < 128


async def test_it_contains_a_fork_bomb():
    marker = "bomb" + uuid.uuid4().hex[:10]  # /proc/PID/comm, inherited by every child
    code = (
        "import os\n"
        f"open('/proc/self/comm', 'w').write({marker!r})\n"
        "refused = False\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError as exc:\n"
        "        if not refused:\n"
        "            refused = True\n"
        "            print('fork refused:', exc, flush=True)\n"
    )
    started = time.monotonic()

    result = await run_python(code, timeout_s=2)

    assert result.timed_out is True
    assert time.monotonic() - started < 5
    assert "fork refused: [Errno 11] Resource temporarily unavailable" in result.stdout
    assert _remaining_after(marker) == []


async def test_it_limits_the_number_of_processes():
    code = (
        "import os, time\n"
        "count = 0\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5)\n"
        "            os._exit(0)\n"
        "        count += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print(count)\n"
    )

    result = await run_python(code, max_processes=8)

    # 8 processes per sandbox, bubblewrap's init and the interpreter included.
    assert result.stdout == "6\n"


async def test_it_truncates_200_megabytes_of_output_quickly():
    code = "import sys\nchunk = 'x' * 1024 * 1024\nfor _ in range(200):\n    sys.stdout.write(chunk)\n"
    started = time.monotonic()

    result = await run_python(code, max_output_bytes=64 * 1024)

    assert result.truncated is True
    assert result.stdout == "x" * 64 * 1024 + "\n[output truncated after 65536 bytes; the program was stopped]\n"
    assert time.monotonic() - started < 3


async def test_it_truncates_a_flood_of_lines_across_both_streams():
    code = "import sys\nwhile True:\n    print('out')\n    print('err', file=sys.stderr)\n"

    result = await run_python(code, max_output_bytes=4096)

    assert result.truncated is True and result.timed_out is False
    assert len(result.stdout.encode()) + len(result.stderr.encode()) < 4096 + 100


async def test_it_writes_only_in_its_working_directory():
    probe = f"entities-probe-{uuid.uuid4().hex}"
    targets = [
        f"/usr/{probe}", f"/etc/{probe}", f"/{probe}", f"/dev/shm/{probe}", "/sandbox/main.py", f"/mnt/{probe}",
        f"/proc/{probe}",
    ]  # fmt: skip
    code = (
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print(exc.strerror)\n"
        "open('/mnt/data/result.txt', 'w').write('ok')\n"
        "open('/tmp/scratch', 'w').write('temporary')\n"
    )

    result = await run_python(code)

    assert result.stdout == (
        "Read-only file system\n" * 6 + "No such file or directory\n"
    )
    assert result.files == [{"name": "result.txt", "size": 2, "kind": "file"}]
    assert not Path(f"/usr/{probe}").exists() and not Path(f"/etc/{probe}").exists() and not Path(f"/{probe}").exists()


async def test_it_caps_tmp_and_file_sizes(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_FILE_BYTES", 1024 * 1024)
    code = (
        "for path in ('/tmp/big', '/mnt/data/big'):\n"
        "    try:\n"
        "        with open(path, 'wb') as f:\n"
        "            f.write(b'x' * 2 * 1024 * 1024)\n"
        "    except OSError as exc:\n"
        "        print(exc.strerror)\n"
        "try:\n"
        "    for i in range(100):\n"
        "        open(f'/tmp/piece{i}', 'wb').write(b'x' * 1024 * 1024)\n"
        "except OSError as exc:\n"
        "    print(exc.strerror, 'after', i, 'MB')\n"
    )

    result = await run_python(code)

    # Each file is capped by RLIMIT_FSIZE; /tmp, which lives in RAM, by its tmpfs size.
    # 1 MB of /tmp/big, then 1 MB pieces up to 64 MB (less matplotlib's 30 KB font list, with the packages).
    full = 62 if interpreter().has_packages else 63
    assert result.stdout == f"File too large\nFile too large\nNo space left on device after {full} MB\n"
    assert result.files == [{"name": "big", "size": 1024 * 1024, "kind": "file"}]


async def test_it_refuses_writes_past_the_disk_limit():
    code = (
        "import itertools\n"
        "try:\n"
        "    for i in itertools.count():\n"
        "        open(f'fill{i}', 'wb').write(b'x' * 1024 * 1024)\n"
        "except OSError as exc:\n"
        "    print(exc.strerror, 'after', i, 'MB')\n"
    )

    result = await run_python(code, timeout_s=5, disk_mb=4)

    assert result.timed_out is False
    assert result.stdout == "No space left on device after 4 MB\n"
    assert result.disk_full is True
    assert result.stderr == "[disk limit reached: this sandbox may write 4 MB in /mnt/data and 64 MB in /tmp]\n"


async def test_it_cannot_kill_its_parent_or_this_process():
    code = (
        "import os, signal\n"
        "print('parent', os.getppid())\n"
        f"for pid in (os.getppid(), 1, {os.getpid()}, {os.getppid()}):\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        print('sent', pid)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__, pid)\n"
        "print('still here')\n"
    )

    outputs, model_text, ok = await run_code_interpreter(code)

    assert ok is True
    assert outputs[0]["logs"] == (
        f"parent 1\nsent 1\nsent 1\nProcessLookupError {os.getpid()}\nProcessLookupError {os.getppid()}\nstill here\n"
    )


def _remaining_after(comm: str, seconds: float = 5.0) -> list[int]:
    """The processes still named ``comm`` once the kernel had ``seconds`` to reap a killed namespace."""
    deadline = time.monotonic() + seconds
    while (found := _processes_named(comm)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _processes_named(comm: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == comm[:15]:
                found.append(int(entry.name))
        except OSError:
            continue
    return found
