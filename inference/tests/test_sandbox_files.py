"""Files into and out of the code interpreter's /mnt/data, and the packages it offers.

All through the real sandbox (bubblewrap) with the virtualenv `make sandbox-env` builds.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from inference.sandbox import run_python, sandbox_status
from inference.sandbox_command import PACKAGES_HINT, interpreter
from inference.tools.code_interpreter import execute, tool_description
from testsupport.requirements import require, require_tool

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SALES = "month,units\njan,3\nfeb,5\nmar,4\n"


@pytest.fixture(autouse=True)
def needs_sandbox():
    require_tool("bwrap", "the code interpreter runs code under bubblewrap")
    require(*sandbox_status())


@pytest.fixture
def needs_sandbox_env():
    require(interpreter().has_packages, interpreter().note)


async def test_pandas_reads_a_csv_and_matplotlib_writes_a_chart_and_a_table(needs_sandbox_env):
    code = (
        "import pandas as pd\n"
        "import matplotlib.pyplot as plt\n"
        "df = pd.read_csv('/mnt/data/sales.csv')\n"
        "df['double'] = df['units'] * 2\n"
        "df.plot(x='month', y='units', kind='bar')\n"
        "plt.savefig('/mnt/data/chart.png')\n"
        "df.to_csv('/mnt/data/summary.csv', index=False)\n"
        "print(int(df['units'].sum()))\n"
    )

    result = await run_python(code, input_files={"sales.csv": SALES.encode()}, timeout_s=60)

    assert (result.stdout, result.stderr, result.exit_code) == ("12\n", "", 0)
    assert [(f.name, f.mime_type) for f in result.output_files] == [("chart.png", "image/png"), ("summary.csv", "text/csv")]
    chart, summary = result.output_files
    assert chart.data.startswith(PNG_MAGIC) and chart.kind == "image"
    assert summary.data == b"month,units,double\njan,3,6\nfeb,5,10\nmar,4,8\n"
    assert [f["name"] for f in result.files] == ["chart.png", "summary.csv"]  # the unchanged input is not listed
    assert result.packages is True


async def test_the_image_is_a_real_png_of_the_requested_size(needs_sandbox_env):
    code = (
        "import matplotlib, matplotlib.pyplot as plt\n"
        "print(matplotlib.get_backend())\n"
        "plt.figure(figsize=(4, 3), dpi=50)\n"
        "plt.plot([1, 2, 3])\n"
        "plt.savefig('/mnt/data/line.png')\n"
        "from PIL import Image\n"
        "print(Image.open('/mnt/data/line.png').size)\n"
    )

    result = await run_python(code, timeout_s=60)

    assert result.stdout == "Agg\n(200, 150)\n" and result.stderr == ""
    assert result.output_files[0].data[:8] == PNG_MAGIC


async def test_matplotlib_starts_with_the_font_list_make_sandbox_env_built(needs_sandbox_env):
    code = (
        "import os\n"
        "before = {n: os.stat('/tmp/matplotlib/' + n).st_mtime_ns for n in os.listdir('/tmp/matplotlib')}\n"
        "import matplotlib.pyplot\n"
        "after = {n: os.stat('/tmp/matplotlib/' + n).st_mtime_ns for n in os.listdir('/tmp/matplotlib')}\n"
        "print(sorted(before), before == after)\n"
    )

    result = await run_python(code, timeout_s=60)

    assert result.stdout == "['fontlist-v390.json'] True\n"  # copied in, and not rebuilt


async def test_openpyxl_and_numpy_work(needs_sandbox_env):
    code = (
        "import numpy as np, openpyxl\n"
        "wb = openpyxl.Workbook()\n"
        "wb.active.append([int(x) for x in np.arange(3) * 2])\n"
        "wb.save('/mnt/data/numbers.xlsx')\n"
        "print(openpyxl.load_workbook('/mnt/data/numbers.xlsx').active['C1'].value)\n"
    )

    result = await run_python(code, timeout_s=60)

    assert result.stdout == "4\n"
    (book,) = result.output_files
    assert book.name == "numbers.xlsx" and book.data.startswith(b"PK")
    assert book.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_an_input_from_a_host_path_is_a_writable_copy(tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("first line\n")
    code = (
        "import os, stat\n"
        "info = os.stat('notes.txt')\n"
        "print(oct(stat.S_IMODE(info.st_mode)), info.st_uid == os.getuid(), open('notes.txt').read(), end='')\n"
        "open('notes.txt', 'a').write('added in the sandbox\\n')\n"
    )

    result = await run_python(code, input_files={"notes.txt": source})

    assert result.stdout == "0o644 True first line\n"
    assert [(f.name, f.data) for f in result.output_files] == [("notes.txt", b"first line\nadded in the sandbox\n")]
    assert source.read_text() == "first line\n"  # the host file is untouched


async def test_files_in_subdirectories_come_back_with_their_path():
    code = "import os\nos.makedirs('out/deep')\nopen('out/deep/r.json', 'w').write('{}')\nopen('/tmp/scratch', 'w')\n"

    result = await run_python(code)

    assert [(f.name, f.data, f.mime_type) for f in result.output_files] == [("out/deep/r.json", b"{}", "application/json")]


async def test_a_symlink_cannot_make_the_server_read_a_host_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(f"host-only-{uuid.uuid4().hex}")
    secret.chmod(0o644)
    tmp_path.chmod(0o755)
    code = (
        "import os\n"
        f"os.symlink({str(secret)!r}, 'leak.txt')\n"
        f"os.symlink({str(tmp_path)!r}, 'leakdir')\n"
        "os.symlink('/etc/hostname', 'hostname')\n"
        "open('real.txt', 'w').write('mine')\n"
    )

    result = await run_python(code)

    assert [(f.name, f.data) for f in result.output_files] == [("real.txt", b"mine")]
    assert [f["name"] for f in result.files] == ["real.txt"]


async def test_returned_files_are_bounded_in_count_and_size(settings):
    settings.CODE_INTERPRETER_MAX_FILES_OUT = 2
    settings.CODE_INTERPRETER_MAX_FILES_OUT_MB = 1
    code = (
        "open('a.txt', 'w').write('a')\n"
        "open('b.bin', 'wb').write(b'b' * 2 * 1024 * 1024)\n"
        "open('c.txt', 'w').write('c')\n"
        "open('d.txt', 'w').write('d')\n"
    )

    run = await execute(code)

    assert [(f.name, f.data) for f in run.files] == [("a.txt", b"a"), ("c.txt", b"c")]
    assert run.result.omitted_files == [
        {"name": "b.bin", "size": 2 * 1024 * 1024, "reason": "the files returned from one run are limited to 1 MB in all"},
        {"name": "d.txt", "size": 1, "reason": "more than 2 files"},
    ]
    assert "[file not returned: /mnt/data/b.bin: the files returned from one run are limited to 1 MB in all]" in (
        run.model_text
    )
    assert "[file written: /mnt/data/d.txt, 1 bytes, file]" in run.model_text


async def test_inputs_larger_than_the_disk_are_refused_before_anything_runs(settings):
    settings.CODE_INTERPRETER_DISK_MB = 1

    result = await run_python("print('ran')", input_files={"big.bin": b"x" * (2 * 1024 * 1024)})

    assert result.stdout == ""
    assert result.error == "the input files (2 MB) do not fit in the sandbox's 1 MB (CODE_INTERPRETER_DISK_MB)"


async def test_an_input_path_must_be_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    with pytest.raises(ValueError, match="is not a regular file"):
        await run_python("print(1)", input_files={"pipe": fifo})


@pytest.mark.parametrize("name", ["../escape.txt", "a/b.csv", "..", ".", "", "nul\x00.txt"])
async def test_an_input_name_must_be_a_plain_file_name(name):
    with pytest.raises(ValueError, match="plain file name"):
        await run_python("print(1)", input_files={name: b"x"})


async def test_the_packages_are_read_only(needs_sandbox_env):
    code = (
        "import numpy, os\n"
        "print(bool(os.statvfs('/opt/venv').f_flag & os.ST_RDONLY))\n"
        "for path in ('/opt/venv/evil.py', os.path.join(os.path.dirname(numpy.__file__), '__init__.py')):\n"
        "    try:\n"
        "        open(path, 'a').write('x')\n"
        "    except OSError as exc:\n"
        "        print(exc.strerror)\n"
    )

    result = await run_python(code, timeout_s=30)

    # A read-only mount; as nobody the code could not write root's files anyway.
    mounted_read_only, *refusals = result.stdout.splitlines()
    assert mounted_read_only == "True"
    assert len(refusals) == 2 and set(refusals) <= {"Read-only file system", "Permission denied"}


async def test_a_virtualenv_the_sandbox_user_cannot_reach_falls_back_and_says_why(needs_sandbox_env, settings, tmp_path):
    # e.g. a checkout under /root (0700) with the server running as root: bwrap, as nobody,
    # could not bind it, and every run would fail. It runs on the system Python instead.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    venv = Path(settings.CODE_INTERPRETER_VENV).resolve()
    subprocess.run(["cp", "-al", str(venv), str(private / "venv")], check=True, timeout=120)  # hard links: fast
    settings.CODE_INTERPRETER_VENV = str(private / "venv")

    result = await run_python("import sys\nprint(sys.executable)")

    assert result.error is None
    if os.geteuid() == 0:
        assert (result.stdout, result.packages) == ("/usr/bin/python3\n", False)
        assert interpreter().note.startswith(f"the sandbox's user cannot reach {private / 'venv'}: ")
    else:  # the sandbox keeps our uid, which can reach it
        assert (result.stdout, result.packages) == ("/opt/venv/bin/python\n", True)


async def test_without_the_sandbox_env_the_model_is_told_how_to_get_the_packages(settings):
    settings.CODE_INTERPRETER_VENV = ""

    run = await execute("import csv\nimport pandas\n")

    assert run.ok is True and run.result.packages is False
    assert "ModuleNotFoundError: No module named 'pandas'" in run.model_text
    assert f"[{PACKAGES_HINT}]" in run.model_text


async def test_the_model_sees_where_the_files_are(needs_sandbox_env):
    rows = list(csv.reader(io.StringIO(SALES)))
    code = "import pandas as pd\npd.read_csv('sales.csv').to_csv('copy.csv', index=False)\n"

    run = await execute(code, input_files={"sales.csv": SALES.encode()})

    assert run.ok is True
    assert run.model_text == f"[file written: /mnt/data/copy.csv, {len(SALES)} bytes, file]"
    assert [f.name for f in run.files] == ["copy.csv"]
    assert list(csv.reader(io.StringIO(run.files[0].data.decode()))) == rows


def test_the_tool_description_says_what_the_interpreter_has(settings):
    settings.CODE_INTERPRETER_VENV = ""
    assert "Only the Python standard library is available." in tool_description()
    assert "The working directory is /mnt/data" in tool_description()


def test_the_tool_description_names_the_packages(needs_sandbox_env):
    assert "numpy, pandas, matplotlib (draws to files), pillow and openpyxl are installed." in tool_description()
