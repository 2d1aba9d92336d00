"""Embedders: the local MiniLM (default, offline) or an OpenAI-compatible `/v1/embeddings` server.

``current_embedder()`` is the one the settings choose; every store records its ``name`` and
vectors of two models are never compared (retrieval.services refuses the mix).
"""

from __future__ import annotations

import threading

from retrieval import conf
from retrieval.embedding.base import Embedder, EmbeddingError

__all__ = ["Embedder", "EmbeddingError", "current_embedder"]

_cache: dict[tuple, Embedder] = {}
_lock = threading.Lock()


def current_embedder() -> Embedder:
    """The embedder the environment selects (one instance per configuration, per process)."""
    url = conf.embeddings_url()
    key = (("remote", url, conf.embeddings_model(), conf.embeddings_api_key()) if url
           else ("local", conf.embed_threads(), conf.embed_batch_size()))
    with _lock:
        embedder = _cache.get(key)
        if embedder is None:
            if url:
                from retrieval.embedding.remote import RemoteEmbedder

                embedder = RemoteEmbedder(url, conf.embeddings_model(), conf.embeddings_api_key())
            else:
                from retrieval.embedding.local import LocalMiniLM

                embedder = LocalMiniLM(threads=conf.embed_threads(), batch_size=conf.embed_batch_size())
            _cache[key] = embedder
        return embedder
