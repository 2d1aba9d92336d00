"""Retrieval settings, read from the environment (documented in docs/retrieval.md).

Read here rather than in entities_project/settings.py so that the app stays self-contained;
each value is read when used, so tests can change the environment.
"""

from __future__ import annotations

from kernel.env import env_float, env_int, env_str


def embeddings_url() -> str:
    """Base URL of an OpenAI-compatible embeddings server (`…/v1`); empty = the local model."""
    return env_str("ENTITIES_EMBEDDINGS_URL", "").rstrip("/")


def embeddings_model() -> str:
    """The model name sent to the remote embeddings server."""
    return env_str("ENTITIES_EMBEDDINGS_MODEL", "text-embedding-3-small")


def embeddings_api_key() -> str:
    return env_str("ENTITIES_EMBEDDINGS_API_KEY", "")


def embed_threads() -> int:
    """onnxruntime intra-op threads for the local model (0 = one per core)."""
    return env_int("ENTITIES_EMBED_THREADS", 0)


def embed_batch_size() -> int:
    """Windows per onnxruntime call. 1 by default: on this project's 2-core machine larger
    batches were slower per window, not faster (docs/retrieval.md has the measurements)."""
    return max(1, env_int("ENTITIES_EMBED_BATCH_SIZE", 1))


def ingest_workers() -> int:
    """Files ingested at once by one server process (bounded concurrency); 0 = this server
    ingests nothing and leaves the files to `manage.py ingest_worker` processes."""
    return max(0, env_int("ENTITIES_INGEST_WORKERS", 1))


def ingest_lease_seconds() -> float:
    return env_float("ENTITIES_INGEST_LEASE_SECONDS", 30.0)


def ingest_max_attempts() -> int:
    """A file whose worker died this many times is failed by the sweeper, not retried."""
    return env_int("ENTITIES_INGEST_MAX_ATTEMPTS", 3)


def ingest_poll_seconds() -> float:
    return env_float("ENTITIES_INGEST_POLL_SECONDS", 1.0)


def max_file_bytes() -> int:
    return env_int("ENTITIES_RETRIEVAL_MAX_FILE_BYTES", 50 * 1024 * 1024)
