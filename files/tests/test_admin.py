"""The admin for files: the list shows owner, purpose, size, expiry; download; delete removes the bytes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from files.models import File
from files.services import file_create
from files.storage import files_storage
from testsupport.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    owner = make_user("alice")
    return file_create(user=owner, content=b"city,sales\nParis,3\n", filename="report.csv", purpose="assistants",
                       expires_after_seconds=3600)


def test_the_list_shows_owner_purpose_size_and_expiry(admin_client, report):
    page = admin_client.get(reverse("admin:files_file_changelist")).content.decode()

    assert report.id in page and "report.csv" in page and "alice" in page and "assistants" in page
    assert "19\xa0bytes" in page
    assert reverse("admin:files_file_download", args=[quote(report.id)]) in page
    assert admin_client.get(reverse("admin:files_file_changelist") + "?q=report").status_code == 200
    assert admin_client.get(reverse("admin:files_file_change", args=[quote(report.id)])).status_code == 200


def test_download_gives_the_bytes_with_the_filename(admin_client, report):
    response = admin_client.get(reverse("admin:files_file_download", args=[quote(report.id)]))

    assert response.status_code == 200
    assert response.is_async  # streamed a chunk at a time, never read whole
    assert b"".join(response) == b"city,sales\nParis,3\n"
    assert 'filename="report.csv"' in response["Content-Disposition"]


def test_download_of_an_unknown_file_is_404(admin_client):
    assert admin_client.get(reverse("admin:files_file_download", args=["file-none"])).status_code == 404


def test_delete_removes_the_row_and_the_bytes(admin_client, report):
    name = report.storage_name
    response = admin_client.post(reverse("admin:files_file_delete", args=[quote(report.id)]), {"post": "yes"})

    assert response.status_code == 302
    assert not File.objects.filter(pk=report.id).exists() and not files_storage().exists(name)


def test_bulk_delete_removes_the_bytes_too(admin_client, report):
    other = file_create(user=report.owner, content=b"x", filename="x.txt", purpose="user_data")
    names = [report.storage_name, other.storage_name]
    admin_client.post(reverse("admin:files_file_changelist"),
                      {"action": "delete_selected", "_selected_action": [report.pk, other.pk], "post": "yes"})

    assert not File.objects.exists() and not any(files_storage().exists(n) for n in names)


def test_staff_without_permission_cannot_download(client, report):
    staff = make_user("staff")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    response = client.get(reverse("admin:files_file_download", args=[quote(report.id)]))
    assert response.status_code in (403, 404)
    assert report.expires_at > timezone.now() + timedelta(minutes=50)
