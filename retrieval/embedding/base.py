"""The embedder interface."""

from __future__ import annotations

import numpy as np


class EmbeddingError(Exception):
    """The embedder failed (remote server down, bad answer); the file fails with server_error."""


class Embedder:
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    #: Recorded on each store; vectors of different names are never mixed.
    name: str = ""
    dimension: int = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        """An (n, dimension) float32 array, each row of unit length."""
        raise NotImplementedError
