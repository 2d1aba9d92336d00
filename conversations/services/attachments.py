"""Message attachments for ``file_search``: the file goes into the thread's own vector store.

As OpenAI did: a file attached to a message with ``tools: [{"type": "file_search"}]`` is added
to the store named in the thread's ``tool_resources.file_search.vector_store_ids``; a thread
without one (or whose store is gone or expired) gets a new store, named after the thread and
expiring 7 days after its last activity, set as the thread's store. Ingestion then runs in the
background like any store file's (retrieval.worker); a run meanwhile searches what is
already ingested (files still ``in_progress`` contribute no passages yet).
"""

from __future__ import annotations

from conversations.models import Thread
from retrieval.services.resources import store_add_files_or_create

THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}


def file_search_file_ids(attachments: list[dict] | None) -> list[str]:
    """The file ids of ``attachments`` (validated) that name the ``file_search`` tool, in order, once each."""
    return list(dict.fromkeys(
        a["file_id"] for a in attachments or [] if any(t.get("type") == "file_search" for t in a.get("tools") or [])))


def thread_attach_files(*, thread: Thread, attachments: list[dict] | None) -> str | None:
    """Put the ``file_search`` attachments' files (already checked to be the owner's) into the
    thread's store, creating it on demand. Call inside the transaction that adds the messages,
    with the thread locked or new. Returns the store id, or None when nothing was attached."""
    file_ids = file_search_file_ids(attachments)
    if not file_ids:
        return None
    resources = dict(thread.tool_resources or {})
    file_search = dict(resources.get("file_search") or {})
    current = (file_search.get("vector_store_ids") or [None])[0]
    store_id = store_add_files_or_create(user=thread.owner, store_id=current, file_ids=file_ids,
                                         name=f"Thread {thread.id}", expires_after=THREAD_STORE_EXPIRY)
    if store_id != current:
        file_search["vector_store_ids"] = [store_id]
        resources["file_search"] = file_search
        thread.tool_resources = resources
        Thread.objects.filter(pk=thread.pk).update(tool_resources=resources)
    return store_id
