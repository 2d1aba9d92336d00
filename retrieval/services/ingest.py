"""Ingesting one attached file: read → parse → chunk → embed → store chunks, under a lease.

Every write is conditional on the row still being ``in_progress`` and leased to this
worker, so a cancel, a detach or a sweeper that gave the file to someone else makes the
work a no-op instead of a double write. ``file_counts``/``usage_bytes`` are aggregates of
the rows (retrieval.selectors), so they are consistent whatever happens here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from retrieval import conf, sources
from retrieval.chunking import chunk_text, strategy_sizes
from retrieval.embedding import EmbeddingError, current_embedder
from retrieval.models import Chunk, VectorStore, VectorStoreFile
from retrieval.parsing import ParseError, parse
from retrieval.search import pgvector
from retrieval.services.activity import bump_index

log = logging.getLogger(__name__)

EMBED_GROUP = 32  # chunks embedded between two lease renewals / cancellation checks


class Abandoned(Exception):
    """The row is no longer ours (cancelled, detached, or re-leased): drop the work."""


class Failed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _ours(pk: int, owner: str):
    return VectorStoreFile.objects.filter(pk=pk, status="in_progress", lease_owner=owner)


def renew(pk: int, owner: str) -> None:
    """Extend the lease, or raise Abandoned when the row is not ours any more."""
    until = timezone.now() + timedelta(seconds=conf.ingest_lease_seconds())
    if not _ours(pk, owner).update(lease_expires_at=until):
        raise Abandoned()


def fail(pk: int, owner: str | None, code: str, message: str) -> bool:
    """Mark the file failed with ``last_error`` (only if still ours, or unowned when owner is None)."""
    rows = VectorStoreFile.objects.filter(pk=pk, status="in_progress")
    if owner is not None:
        rows = rows.filter(lease_owner=owner)
    return bool(rows.update(status="failed", last_error={"code": code, "message": message[:1000]},
                            lease_owner="", lease_expires_at=None, completed_at=timezone.now()))


def ingest(pk: int, owner: str) -> str:
    """Process the leased row ``pk``; returns its final status (or 'abandoned')."""
    try:
        row = VectorStoreFile.objects.select_related("vector_store").get(pk=pk)
        _ingest(row, owner)
        return "completed"
    except Abandoned:
        return "abandoned"
    except VectorStoreFile.DoesNotExist:
        return "abandoned"
    except Failed as exc:
        fail(pk, owner, exc.code, exc.message)
        return "failed"
    except EmbeddingError as exc:
        fail(pk, owner, "server_error", f"Embedding failed: {exc}")
        return "failed"


def _ingest(row: VectorStoreFile, owner: str) -> None:
    store = row.vector_store
    embedder = current_embedder()
    if store.embedding_model and store.embedding_model != embedder.name:
        raise Failed("server_error", f"This vector store holds vectors of '{store.embedding_model}' but the server "
                                     f"now embeds with '{embedder.name}'; vectors of two models are never mixed. "
                                     "Create a new vector store, or configure the store's embedder again.")
    data = sources.read_file_bytes(row.file_id)
    if data is None:
        raise Failed("invalid_file", f"The file {row.file_id} no longer exists.")
    if len(data) > conf.max_file_bytes():
        raise Failed("invalid_file", f"The file is larger than {conf.max_file_bytes()} bytes.")
    try:
        text = parse(data, row.filename)
    except ParseError as exc:
        raise Failed(exc.code, str(exc)) from exc
    max_tokens, overlap = strategy_sizes(row.chunking_strategy)
    pieces = chunk_text(text, max_tokens=max_tokens, overlap=overlap)
    if not pieces:
        raise Failed("invalid_file", "The file contains no text to index.")
    vectors = []
    for start in range(0, len(pieces), EMBED_GROUP):
        renew(row.pk, owner)
        vectors.append(embedder.embed([p.text for p in pieces[start:start + EMBED_GROUP]]))
    matrix = np.concatenate(vectors).astype(np.float32)
    usage = sum(len(p.text.encode()) for p in pieces) + matrix.nbytes
    if pgvector.enabled():
        pgvector.prepare(int(matrix.shape[1]))
    with transaction.atomic():
        if not _ours(row.pk, owner).update(status="completed", usage_bytes=usage, completed_at=timezone.now(),
                                           lease_owner="", lease_expires_at=None, last_error=None):
            raise Abandoned()
        VectorStore.objects.filter(pk=store.pk, embedding_model="").update(
            embedding_model=embedder.name, embedding_dimension=int(matrix.shape[1]))
        recorded = VectorStore.objects.filter(pk=store.pk).values_list("embedding_model", flat=True).first()
        if recorded != embedder.name:  # another worker recorded another model meanwhile
            transaction.set_rollback(True)
            raise Failed("server_error", f"The store holds vectors of '{recorded}', not '{embedder.name}'.")
        Chunk.objects.filter(store_file_id=row.pk).delete()
        created = Chunk.objects.bulk_create([
            Chunk(vector_store_id=store.pk, store_file_id=row.pk, seq=i, text=p.text, tokens=p.tokens,
                  vector=matrix[i].tobytes()) for i, p in enumerate(pieces)], batch_size=500)
        if pgvector.enabled():
            pgvector.write_vectors([(c.pk, matrix[i]) for i, c in enumerate(created)])
        bump_index(store.pk)
    log.info("ingested %s into %s: %d chunks", row.file_id, store.pk, len(pieces))
