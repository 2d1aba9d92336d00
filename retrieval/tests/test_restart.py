"""A server killed mid-ingestion: the next one finishes every file (the lease expires, a worker retries)."""

from __future__ import annotations

import io

import openai
import pytest

from retrieval.models import VectorStoreFile
from retrieval.tests.helpers import wait_for
from testsupport.processes import EntitiesProcess, database_env_for_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_kill_mid_ingestion_then_restart(alice):
    from django.conf import settings

    env = database_env_for_subprocess() | {
        "ENTITIES_FILES_DIR": str(settings.ENTITIES_FILES_DIR),
        "ENTITIES_INGEST_LEASE_SECONDS": "3", "ENTITIES_INGEST_POLL_SECONDS": "0.2",
    }
    big = " ".join(f"Paragraph {i} describes the harbour, the ships and the weather of day {i}." for i in range(2500))
    with EntitiesProcess(env=env) as first:
        client = openai.OpenAI(base_url=first.v1, api_key=alice.api_key, max_retries=0, timeout=30)
        store = client.vector_stores.create(name="kb")
        ids = [client.files.create(file=("big.txt", io.BytesIO(big.encode())), purpose="assistants").id,
               client.files.create(file=("small.txt", io.BytesIO(b"a small note")), purpose="assistants").id]
        batch = client.vector_stores.file_batches.create(store.id, file_ids=ids)
        # Wait until the first server's worker holds the big file, then kill it without any cleanup.
        wait_for(lambda: VectorStoreFile.objects.filter(vector_store_id=store.id, file_id=ids[0])
                 .exclude(lease_owner="").exists(), timeout=60, interval=0.05)
        first.kill()
        client.close()
    row = VectorStoreFile.objects.get(vector_store_id=store.id, file_id=ids[0])
    assert row.status == "in_progress" and row.lease_owner  # orphaned: nobody will finish it in that process
    with EntitiesProcess(env=env) as second:
        client = openai.OpenAI(base_url=second.v1, api_key=alice.api_key, max_retries=0, timeout=30)
        done = wait_for(lambda: (b := client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id))
                        .file_counts.in_progress == 0 and b, timeout=240, interval=0.5)
        assert done.status == "completed" and done.file_counts.completed == 2, done
        files = {f.id: f for f in client.vector_stores.files.list(store.id)}
        assert all(f.status == "completed" and f.usage_bytes > 0 for f in files.values())
        results = client.vector_stores.search(store.id, query="harbour ships weather").data
        assert results and results[0].file_id == ids[0]
        client.close()
    assert VectorStoreFile.objects.get(pk=row.pk).attempts >= 2  # claimed by the dead server, then again
