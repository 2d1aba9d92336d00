"""The code interpreter sandbox doing its ordinary job: run code, report output and files.

The hostile cases (escapes, exhaustion) are in test_sandbox_hostile.py.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from inference import sandbox
from inference.sandbox import INSTALL_HINT, SandboxResult, run_python, sandbox_status
from inference.sandbox_command import interpreter
from inference.tools.code_interpreter import run_code_interpreter
from testsupport.requirements import require, require_tool


@pytest.fixture
def needs_sandbox():
    require_tool("bwrap", "the code interpreter runs code under bubblewrap")
    require(*sandbox_status())


@pytest.fixture
def needs_sandbox_env():
    require(interpreter().has_packages, interpreter().note)


@pytest.fixture
def missing_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "entities-test-no-such-bwrap")


def test_it_refuses_to_run_unconfined_without_bubblewrap(missing_bwrap):
    assert sandbox_status() == (False, "the code interpreter needs bubblewrap: apt-get install bubblewrap")


async def test_it_runs_nothing_without_bubblewrap(missing_bwrap, tmp_path):
    marker = tmp_path / "ran"

    result = await run_python(f"open({str(marker)!r}, 'w')")

    assert result == SandboxResult(
        stdout="", stderr="", exit_code=None, timed_out=False, truncated=False, files=[], duration_s=0.0,
        error=INSTALL_HINT,
    )
    assert not marker.exists()


async def test_it_tells_the_model_the_interpreter_is_unavailable(missing_bwrap):
    message = f"[code interpreter unavailable: {INSTALL_HINT}]"

    assert await run_code_interpreter("print(1)") == ([{"type": "logs", "logs": message}], message, False)


async def test_it_runs_code_and_returns_its_output(needs_sandbox):
    result = await run_python("import sys\nprint('hello')\nprint('careful', file=sys.stderr)")

    assert (result.stdout, result.stderr, result.exit_code, result.timed_out, result.truncated) == (
        "hello\n", "careful\n", 0, False, False,
    )
    assert result.files == [] and result.error is None
    assert 0 < result.duration_s < 3


async def test_it_uses_the_sandbox_virtualenv_in_isolated_mode(needs_sandbox, needs_sandbox_env):
    code = "import os, sys\nprint(sys.executable, sys.prefix, sys.base_prefix, sys.flags.isolated, os.getcwd())"

    result = await run_python(code)

    assert result.stdout == "/opt/venv/bin/python /opt/venv /usr 1 /mnt/data\n"
    assert result.packages is True


async def test_without_the_sandbox_env_it_uses_the_system_python(needs_sandbox, settings):
    settings.CODE_INTERPRETER_VENV = "/nonexistent/sandbox-venv"

    result = await run_python("import os, sys\nprint(sys.executable, sys.prefix, sys.flags.isolated, os.getcwd())")

    assert result.stdout == "/usr/bin/python3 /usr 1 /mnt/data\n"
    assert result.packages is False


async def test_it_runs_as_an_unprivileged_user(needs_sandbox):
    result = await run_python("import os\nprint(os.getuid(), os.geteuid())")

    expected = sandbox.DEFAULT_UID if os.geteuid() == 0 else os.geteuid()
    assert result.stdout == f"{expected} {expected}\n"


async def test_it_reports_the_exit_status(needs_sandbox):
    assert (await run_python("raise SystemExit(3)")).exit_code == 3


async def test_it_lists_the_files_the_code_wrote(needs_sandbox):
    code = (
        "import os\n"
        "open('plot.png', 'wb').write(b'\\x89PNG')\n"
        "os.mkdir('data')\n"
        "open('data/table.csv', 'w').write('a,b\\n1,2\\n')\n"
        "os.symlink('/etc/passwd', 'link')\n"
    )

    result = await run_python(code)

    assert result.files == [
        {"name": "data/table.csv", "size": 8, "kind": "file"},
        {"name": "plot.png", "size": 4, "kind": "image"},
    ]


async def test_it_removes_the_working_directory_afterwards(needs_sandbox, monkeypatch):
    made: list[Path] = []
    make = sandbox._make_run_dir
    monkeypatch.setattr(sandbox, "_make_run_dir", lambda code, uid: made.append(make(code, uid)) or made[-1])

    await run_python("import os\nos.makedirs('a/b')\nopen('a/b/c', 'w').write('x')\nos.chmod('a', 0o500)")

    assert len(made) == 1 and not made[0].exists()


async def test_it_keeps_no_state_between_calls(needs_sandbox):
    await run_python("open('memo.txt', 'w').write('remember me')\nx = 42")

    result = await run_python("import os\nprint(os.listdir('.'), 'x' in globals())")

    assert result.stdout == "[] False\n"


async def test_it_runs_sandboxes_side_by_side_with_their_own_process_limits(needs_sandbox):
    # Each sandbox is its own user namespace, so the process limit is per run, not shared.
    code = (
        "import os, time\n"
        "for _ in range(4):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(0.5)\n"
        "        os._exit(0)\n"
        "print('forked 4')\n"
    )

    results = await asyncio.gather(*(run_python(code, max_processes=8) for _ in range(4)))

    assert [r.stdout for r in results] == ["forked 4\n"] * 4


async def test_it_hides_a_server_tree_that_lies_inside_a_visible_directory(needs_sandbox, settings):
    # e.g. a Docker image with the checkout in /usr/src/app: that directory is masked.
    settings.BASE_DIR = Path("/usr/lib/python3/dist-packages")
    assert os.listdir(settings.BASE_DIR)

    result = await run_python("import os\nprint(os.listdir('/usr/lib/python3/dist-packages'))")

    assert result.stdout == "[]\n"


async def test_it_gives_the_model_logs_files_and_a_traceback(needs_sandbox):
    code = "print('sum:', 1 + 1)\nopen('out.txt', 'w').write('done')\n1 / 0\n"

    outputs, model_text, ok = await run_code_interpreter(code)

    logs = (
        "sum: 2\n"
        "Traceback (most recent call last):\n"
        '  File "/sandbox/main.py", line 3, in <module>\n'
        "    1 / 0\n"
        "    ~~^~~\n"
        "ZeroDivisionError: division by zero\n"
        "[file written: /mnt/data/out.txt, 4 bytes, file]\n"
    )
    assert (outputs, model_text, ok) == ([{"type": "logs", "logs": logs}], logs + "[exit status 1]", True)


async def test_it_tells_the_model_when_the_code_printed_nothing(needs_sandbox):
    assert await run_code_interpreter("x = 1") == ([{"type": "logs", "logs": ""}], "[no output]", True)


async def test_it_tells_the_model_about_a_timeout(needs_sandbox, settings):
    settings.CODE_INTERPRETER_TIMEOUT = 0.5

    outputs, model_text, ok = await run_code_interpreter("print('working', flush=True)\nwhile True: pass")

    assert (outputs, model_text, ok) == (
        [{"type": "logs", "logs": "working\n"}], "working\n[timed out after 0.5 s; the program was stopped]", True,
    )
