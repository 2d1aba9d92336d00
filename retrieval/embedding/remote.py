"""Any OpenAI-compatible `/v1/embeddings` server (OpenAI, Ollama, vLLM, TEI) by setting.

``ENTITIES_EMBEDDINGS_URL`` is the base URL (ending in /v1), ``ENTITIES_EMBEDDINGS_MODEL``
the model. The dimension is learnt from the first answer. Vectors are renormalised here
(not every server normalises), so cosine is a dot product everywhere.
"""

from __future__ import annotations

import httpx
import numpy as np

from retrieval.embedding.base import Embedder, EmbeddingError

TIMEOUT_SECONDS = 60.0
BATCH = 64


class RemoteEmbedder(Embedder):
    def __init__(self, base_url: str, model: str, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"remote:{model}"
        self.dimension = 0
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS, headers=headers)

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            rows.extend(self._call(texts[start:start + BATCH]))
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1) if rows else \
            np.zeros((0, self.dimension), dtype=np.float32)
        if matrix.shape[0] and not self.dimension:
            self.dimension = int(matrix.shape[1])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _call(self, batch: list[str]) -> list[list[float]]:
        try:
            response = self._client.post(f"{self.base_url}/embeddings", json={"model": self.model, "input": batch})
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"The embeddings server at {self.base_url} could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise EmbeddingError(f"The embeddings server answered {response.status_code}: {response.text[:300]}")
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = [item["embedding"] for item in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"The embeddings server's answer is not an embeddings list: {exc}") from exc
        if len(vectors) != len(batch) or any(not isinstance(v, list) or not v for v in vectors):
            raise EmbeddingError("The embeddings server returned a different number of vectors than texts sent.")
        return vectors
