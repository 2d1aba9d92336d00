"""The admin pages of vector stores render, show errors and re-index through the service."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from files.services import file_create
from retrieval.models import VectorStoreFile
from retrieval.services.files import attach_files
from retrieval.services.stores import store_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    client.force_login(admin)
    return client


def test_admin_lists_and_reindexes(staff_client, alice, monkeypatch):
    monkeypatch.setenv("ENTITIES_INGEST_WORKERS", "0")  # the re-index only queues; nothing ingests here
    store = store_create(user=alice.user, name="kb", description=None, metadata={}, expires_after=None,
                         file_ids=[], chunking_strategy=None)
    f = file_create(user=alice.user, content=b"text", filename="a.txt", purpose="assistants")
    (row,) = attach_files(store=store, user=alice.user, items=[{"file_id": f.id}])
    VectorStoreFile.objects.filter(pk=row.pk).update(status="failed",
                                                     last_error={"code": "invalid_file", "message": "bad"})
    page = staff_client.get("/admin/retrieval/vectorstore/")
    assert page.status_code == 200 and store.id.encode() in page.content
    detail = staff_client.get(f"/admin/retrieval/vectorstore/{store.id}/change/")
    assert detail.status_code == 200 and b"invalid_file: bad" in detail.content
    files_page = staff_client.get("/admin/retrieval/vectorstorefile/?status=failed")
    assert files_page.status_code == 200 and f.id.encode() in files_page.content
    done = staff_client.post("/admin/retrieval/vectorstorefile/",
                             {"action": "reindex", "_selected_action": [row.pk]}, follow=True)
    assert done.status_code == 200 and b"1 files queued" in done.content
    row.refresh_from_db()
    assert row.status == "in_progress" and row.last_error is None and row.attempts == 0
