"""The code interpreter with files, through the SDK and a fake model server on loopback.

The run's CSV is copied into the sandbox; the model's pandas + matplotlib code writes a
PNG and a CSV; both come back as Files: the image as the tool call's `image` output and
the reply's `image_file` part, the CSV as a `file_path` annotation on the reply's text.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from inference.sandbox import sandbox_status
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply, ToolCalls
from testsupport.sse import cloud  # noqa: F401 - a fixture

CSV = b"city,sales\nParis,3\nLyon,5\nNice,2\n"
CODE = """
import hashlib, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
df = pd.read_csv("/mnt/data/sales.csv")
ax = df.plot.bar(x="city", y="sales")
ax.get_figure().savefig("/mnt/data/chart.png")
df.assign(double=df.sales * 2).to_csv("/mnt/data/summary.csv", index=False)
print("total", df.sales.sum())
for name in ("chart.png", "summary.csv"):
    print(name, hashlib.sha256(open("/mnt/data/" + name, "rb").read()).hexdigest())
"""
REPLY = "Total sales are 10. Download the table: [summary.csv](sandbox:/mnt/data/summary.csv)."


@pytest.fixture
def sandbox(settings):
    available, why = sandbox_status()
    if not available:
        pytest.fail(f"the code interpreter sandbox is needed here: {why}")
    settings.CODE_INTERPRETER_TIMEOUT = 60  # matplotlib's first import is slow on a busy machine


def test_a_run_reads_an_uploaded_csv_and_returns_a_chart_and_a_table(sdk, cloud, sandbox):  # noqa: F811
    upload = sdk.files.create(file=("sales.csv", CSV), purpose="assistants")
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{"type": "code_interpreter"}],
                                           tool_resources={"code_interpreter": {"file_ids": [upload.id]}})
    cloud.push(ToolCalls([("code_interpreter", json.dumps({"code": CODE}))]), Reply([REPLY]))

    run = sdk.beta.threads.create_and_run_poll(assistant_id=assistant.id, thread={
        "messages": [{"role": "user", "content": "Chart the sales."}]}, poll_interval_ms=100)

    assert run.status == "completed", run.last_error
    # The model was told where the file is, and what became of the files its code wrote.
    system = cloud.requests[0]["messages"][0]
    assert system["role"] == "system" and "/mnt/data/sales.csv" in system["content"]
    tool_result = [m for m in cloud.requests[1]["messages"] if m["role"] == "tool"][0]["content"]
    assert "total 10" in tool_result and "sandbox:/mnt/data/summary.csv" in tool_result

    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id, order="asc").data
    call = steps[0].step_details.tool_calls[0]
    assert call.type == "code_interpreter"
    logs = [o for o in call.code_interpreter.outputs if o.type == "logs"][0].logs
    images = [o.image.file_id for o in call.code_interpreter.outputs if o.type == "image"]
    assert len(images) == 1
    written = dict(line.split(" ", 1) for line in logs.splitlines() if line.startswith(("chart.png ", "summary.csv ")))

    reply = sdk.beta.threads.messages.list(run.thread_id, run_id=run.id).data[0]
    assert [part.type for part in reply.content] == ["image_file", "text"]
    assert reply.content[0].image_file.file_id == images[0]
    text = reply.content[1].text
    assert text.value == REPLY
    (annotation,) = text.annotations
    assert annotation.type == "file_path" and annotation.text == "sandbox:/mnt/data/summary.csv"
    assert text.value[annotation.start_index:annotation.end_index] == annotation.text

    chart, table = sdk.files.retrieve(images[0]), sdk.files.retrieve(annotation.file_path.file_id)
    assert (chart.filename, chart.purpose, table.filename, table.purpose) == (
        "chart.png", "assistants_output", "summary.csv", "assistants_output")
    chart_bytes = sdk.files.content(chart.id).content
    table_bytes = sdk.files.content(table.id).content
    assert chart_bytes.startswith(b"\x89PNG")
    assert hashlib.sha256(chart_bytes).hexdigest() == written["chart.png"]
    assert hashlib.sha256(table_bytes).hexdigest() == written["summary.csv"]
    assert table_bytes.decode().splitlines() == ["city,sales,double", "Paris,3,6", "Lyon,5,10", "Nice,2,4"]


def test_attachments_for_the_code_interpreter_reach_the_sandbox(sdk, cloud, sandbox):  # noqa: F811
    upload = sdk.files.create(file=("notes.txt", b"hello from a file"), purpose="assistants")
    other = sdk.files.create(file=("unused.txt", b"not attached to the tool"), purpose="assistants")
    assistant = sdk.beta.assistants.create(model="cloud/fake-model", tools=[{"type": "code_interpreter"}])
    code = "import os\nprint(sorted(os.listdir('/mnt/data')))\nprint(open('/mnt/data/notes.txt').read())"
    cloud.push(ToolCalls([("code_interpreter", json.dumps({"code": code}))]), Reply(["Read it."]))

    run = sdk.beta.threads.create_and_run_poll(assistant_id=assistant.id, thread={"messages": [
        {"role": "user", "content": "Read my notes.", "attachments": [
            {"file_id": upload.id, "tools": [{"type": "code_interpreter"}]},
            {"file_id": other.id, "tools": [{"type": "file_search"}]}]}]}, poll_interval_ms=100)

    assert run.status == "completed", run.last_error
    tool_result = [m for m in cloud.requests[1]["messages"] if m["role"] == "tool"][0]["content"]
    assert "['notes.txt']" in tool_result and "hello from a file" in tool_result
    reply = sdk.beta.threads.messages.list(run.thread_id, run_id=run.id).data[0]
    assert [part.type for part in reply.content] == ["text"] and reply.content[0].text.annotations == []
