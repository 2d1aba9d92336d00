"""/v1/files through the official SDK against a live server: upload, list, retrieve, content, delete, limits."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import httpx
import openai
import pytest
from django.utils import timezone

from files.models import File
from files.services import sweep_expired, sweep_orphans
from files.storage import files_storage
from testsupport.live import sdk_for


def _stored_names() -> set[str]:
    from files.storage import all_names

    return set(all_names(files_storage()))


def _incoming() -> list[str]:
    from django.conf import settings

    folder = settings.FILE_UPLOAD_TEMP_DIR
    return os.listdir(folder) if folder and os.path.isdir(folder) else []


def test_upload_retrieve_content_small_and_a_few_megabytes(sdk):
    small = b"name,value\nalpha,1\nbeta,2\n"
    big = os.urandom(3 * 1024 * 1024 + 17)  # over the 2 MB body limit of other routes

    first = sdk.files.create(file=("data.csv", small), purpose="assistants")
    second = sdk.files.create(file=("blob.bin", io.BytesIO(big)), purpose="user_data")

    assert first.id.startswith("file-") and first.object == "file"
    assert (first.bytes, first.filename, first.purpose, first.status) == (len(small), "data.csv", "assistants", "processed")
    assert first.expires_at is None and abs(first.created_at - time.time()) < 60
    assert second.bytes == len(big)
    assert sdk.files.retrieve(first.id).model_dump() == first.model_dump()
    assert sdk.files.content(first.id).content == small
    assert sdk.files.content(second.id).read() == big


def test_content_has_a_type_and_a_download_filename(sdk, live_entities, alice):
    file = sdk.files.create(file=("report.csv", b"a,b\n1,2\n"), purpose="assistants")

    response = httpx.get(f"{live_entities.v1}/files/{file.id}/content", headers=alice.headers, timeout=10)

    assert response.status_code == 200 and response.content == b"a,b\n1,2\n"
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="report.csv"' in response.headers["content-disposition"]


def test_list_pages_and_filters_by_purpose(sdk):
    made = [sdk.files.create(file=(f"f{i}.txt", b"x" * (i + 1)), purpose="assistants" if i % 2 else "user_data")
            for i in range(5)]

    page = sdk.files.list(limit=2)
    assert [f.id for f in page.data] == [made[4].id, made[3].id] and page.has_more
    assert [f.id for f in sdk.files.list(limit=2)] == [f.id for f in reversed(made)]  # auto-paging: after=
    assert [f.id for f in sdk.files.list(purpose="assistants")] == [made[3].id, made[1].id]
    assert [f.id for f in sdk.files.list(order="asc", limit=3).data] == [f.id for f in made[:3]]


def test_delete_removes_row_and_bytes_then_404(sdk):
    file = sdk.files.create(file=("gone.txt", b"bye"), purpose="assistants")
    name = File.objects.get(pk=file.id).storage_name
    assert files_storage().exists(name)

    deleted = sdk.files.delete(file.id)

    assert (deleted.id, deleted.object, deleted.deleted) == (file.id, "file", True)
    assert not files_storage().exists(name)
    for call in (sdk.files.retrieve, sdk.files.content, sdk.files.delete):
        with pytest.raises(openai.NotFoundError):
            call(file.id)


def test_expiry_sets_expires_at_and_the_sweep_deletes(sdk):
    file = sdk.files.create(file=("temp.txt", b"soon"), purpose="batch",
                            expires_after={"anchor": "created_at", "seconds": 3600})
    assert file.expires_at == file.created_at + 3600
    row = File.objects.get(pk=file.id)
    File.objects.filter(pk=file.id).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(openai.NotFoundError):  # gone for clients at once, before the sweep
        sdk.files.retrieve(file.id)
    assert file.id not in [f.id for f in sdk.files.list()]
    assert sweep_expired() == 1
    assert not File.objects.filter(pk=file.id).exists() and not files_storage().exists(row.storage_name)


@pytest.mark.parametrize("expires_after", [{"anchor": "created_at", "seconds": 10},
                                           {"anchor": "created_at", "seconds": 2_592_001},
                                           {"anchor": "last_active_at", "seconds": 3600}])
def test_bad_expiry_is_400(sdk, expires_after):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.txt", b"x"), purpose="assistants", expires_after=expires_after)
    assert caught.value.body["param"].startswith("expires_after")
    assert not File.objects.exists()


def test_bad_purpose_and_missing_file_are_400(sdk, live_entities, alice):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.txt", b"x"), purpose="assistants_output")
    assert caught.value.body["param"] == "purpose"
    response = httpx.post(f"{live_entities.v1}/files", data={"purpose": "assistants"},
                          files={"attachment": ("x.txt", b"x")}, headers=alice.headers, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["param"] == "file"
    response = httpx.post(f"{live_entities.v1}/files", json={"purpose": "assistants"}, headers=alice.headers, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    assert not File.objects.exists()


def test_file_over_the_limit_is_413_mid_stream_and_leaves_nothing(sdk, settings):
    settings.ENTITIES_MAX_FILE_BYTES = 100_000
    before = _stored_names()

    with pytest.raises(openai.APIStatusError) as caught:
        sdk.files.create(file=("big.bin", os.urandom(300_000)), purpose="assistants")

    assert caught.value.status_code == 413 and caught.value.body["code"] == "file_too_large"
    assert not File.objects.exists() and _stored_names() == before and _incoming() == []
    assert sdk.files.create(file=("ok.bin", b"x" * 100_000), purpose="assistants").bytes == 100_000


def test_body_over_the_upload_route_limit_is_413_before_parsing(sdk, settings):
    settings.ENTITIES_LARGE_BODY_ROUTES = {("POST", "/v1/files"): 50_000}

    with pytest.raises(openai.APIStatusError) as caught:
        sdk.files.create(file=("big.bin", os.urandom(80_000)), purpose="assistants")

    assert caught.value.status_code == 413 and caught.value.body["code"] == "request_too_large"


def test_other_routes_keep_the_small_body_limit(live_entities, alice):
    body = b'{"model": "demo/echo", "instructions": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = httpx.post(f"{live_entities.v1}/assistants", content=body, timeout=30,
                          headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status_code == 413


def test_quota_is_400_and_counts_every_file_of_the_user(sdk, settings, live_entities, bob):
    settings.ENTITIES_USER_STORAGE_BYTES = 10_000
    sdk.files.create(file=("a.bin", b"a" * 6_000), purpose="assistants")
    before = _stored_names()

    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("b.bin", b"b" * 6_000), purpose="assistants")

    assert caught.value.body["code"] == "storage_quota_exceeded" and caught.value.body["param"] == "file"
    assert File.objects.count() == 1 and _stored_names() == before and _incoming() == []
    sdk.files.create(file=("c.bin", b"c" * 4_000), purpose="assistants")  # exactly at the quota
    sdk_for(live_entities, bob).files.create(file=("bob.bin", b"b" * 6_000), purpose="assistants")  # bob's own room


def test_bob_gets_404_on_every_route_for_alices_file(sdk, live_entities, bob):
    file = sdk.files.create(file=("private.txt", b"secret"), purpose="assistants")
    for method, path in [("GET", f"/files/{file.id}"), ("GET", f"/files/{file.id}/content"),
                         ("DELETE", f"/files/{file.id}")]:
        response = httpx.request(method, live_entities.v1 + path, headers=bob.headers, timeout=10)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (method, path)
    assert sdk_for(live_entities, bob).files.list().data == []
    assert sdk.files.content(file.id).content == b"secret"


@pytest.fixture
def own_storage(tmp_path, settings):
    """A files storage of this test alone: earlier tests of a long run leave bytes behind
    (their rows went with the test database), which the count must not see."""
    settings.STORAGES = {**settings.STORAGES, "files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return files_storage()


def test_orphan_sweep_removes_old_bytes_without_a_row_only(sdk, own_storage):
    kept = sdk.files.create(file=("kept.txt", b"kept"), purpose="assistants")
    old = own_storage.save("zz/file-orphanold", io.BytesIO(b"left by a crash"))
    young = own_storage.save("zz/file-orphanyoung", io.BytesIO(b"an upload in flight"))
    past = time.time() - 3600
    os.utime(own_storage.path(old), (past, past))
    os.utime(own_storage.path(File.objects.get(pk=kept.id).storage_name), (past, past))

    assert sweep_orphans(grace_seconds=600) == 1

    assert not own_storage.exists(old) and own_storage.exists(young)
    assert sdk.files.content(kept.id).content == b"kept"


def test_the_servers_periodic_sweep_deletes_expired_files(sdk):
    file = sdk.files.create(file=("temp.txt", b"soon"), purpose="assistants",
                            expires_after={"anchor": "created_at", "seconds": 3600})
    name = File.objects.get(pk=file.id).storage_name
    File.objects.filter(pk=file.id).update(expires_at=timezone.now() - timedelta(seconds=1))

    deadline = time.monotonic() + 15  # the row goes first, then the bytes
    while (File.objects.filter(pk=file.id).exists() or files_storage().exists(name)) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not File.objects.filter(pk=file.id).exists(), "the live server's sweep did not delete the expired file"
    assert not files_storage().exists(name)


def test_a_browser_session_upload_keeps_the_limits(live_entities, alice, settings):
    """A session's CSRF check parses the form during authentication: the limit still applies."""
    from django.test import Client

    settings.ENTITIES_MAX_FILE_BYTES = 50_000
    client = Client()
    client.force_login(alice.user)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": "a" * 32}
    headers = {"X-CSRFToken": "a" * 32, "Referer": live_entities.url + "/"}
    with httpx.Client(base_url=live_entities.v1, cookies=cookies, headers=headers, timeout=30) as browser:
        ok = browser.post("/files", data={"purpose": "vision"}, files={"file": ("dot.png", b"png" * 10)})
        big = browser.post("/files", data={"purpose": "assistants"}, files={"file": ("big.bin", os.urandom(120_000))})
        no_csrf = browser.post("/files", data={"purpose": "assistants"}, files={"file": ("x.txt", b"x")},
                               headers={"X-CSRFToken": ""})

    assert ok.status_code == 200 and ok.json()["purpose"] == "vision"
    assert big.status_code == 413 and big.json()["error"]["code"] == "file_too_large"
    assert no_csrf.status_code == 403
    assert list(File.objects.values_list("filename", flat=True)) == ["dot.png"]
    # The refused request's temporary file is closed (deleted) when Django closes the request,
    # just after the response went out.
    deadline = time.monotonic() + 5
    while _incoming() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _incoming() == []


def test_hostile_names_and_ids_are_contained(sdk, live_entities, alice):
    from files.services import clean_filename

    assert clean_filename("dir\\sub/a\nb\x00c\x7f.txt") == "abc.txt" and clean_filename("../..") == "file"
    file = sdk.files.create(file=("../../etc/\u00e9vilname.html", b"<script>alert(1)</script>"), purpose="user_data")

    assert file.filename == "\u00e9vilname.html"
    assert File.objects.get(pk=file.id).storage_name == f"{file.id[5:7]}/{file.id}"  # never the client's name
    response = httpx.get(f"{live_entities.v1}/files/{file.id}/content", headers=alice.headers, timeout=10)
    assert response.headers["content-disposition"].startswith("attachment")  # an HTML upload is never rendered
    assert "filename*=utf-8''%C3%A9vilname.html" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    for bad in ("file-%00", "..%2F..%2Fetc", "file-" + "x" * 300, "%F0%9F%98%80"):
        assert httpx.get(f"{live_entities.v1}/files/{bad}", headers=alice.headers, timeout=10).status_code == 404, bad


def _multipart(boundary: str, data: bytes) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chunked.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()


def test_a_chunked_upload_is_measured_and_limited(live_entities, alice, settings):
    data = os.urandom(3 * 1024 * 1024)
    body = _multipart("b0undary", data)
    headers = {**alice.headers, "Content-Type": "multipart/form-data; boundary=b0undary"}

    def pieces(blob: bytes):  # a generator: httpx sends it chunked, without Content-Length
        for start in range(0, len(blob), 256 * 1024):
            yield blob[start:start + 256 * 1024]

    ok = httpx.post(f"{live_entities.v1}/files", content=pieces(body), headers=headers, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["bytes"] == len(data)
    assert File.objects.get(pk=ok.json()["id"]).bytes == len(data)

    settings.ENTITIES_LARGE_BODY_ROUTES = {("POST", "/v1/files"): 1024 * 1024}
    refused = httpx.post(f"{live_entities.v1}/files", content=pieces(body), headers=headers, timeout=30)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"
