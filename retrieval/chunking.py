"""Splitting text into overlapping chunks counted in the embedding model's tokens.

``auto`` is OpenAI's default: 800 tokens with 400 of overlap. ``static`` takes
``max_chunk_size_tokens`` (100–4096) and ``chunk_overlap_tokens`` (at most half of it).
Chunk texts are exact slices of the parsed text (cut at token offsets, widened to a word
boundary), so `/content` and search results quote the document as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.tokenizer import _counter

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400


@dataclass(frozen=True)
class TextChunk:
    text: str
    tokens: int
    start: int  # character offsets in the parsed text
    end: int


def strategy_sizes(strategy: dict | None) -> tuple[int, int]:
    """(max tokens, overlap) of a validated chunking strategy object."""
    if not strategy or strategy.get("type") == "auto":
        return AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS
    static = strategy["static"]
    return int(static["max_chunk_size_tokens"]), int(static["chunk_overlap_tokens"])


def chunk_text(text: str, *, max_tokens: int = AUTO_MAX_TOKENS, overlap: int = AUTO_OVERLAP_TOKENS) -> list[TextChunk]:
    """Windows of ``max_tokens`` tokens, each starting ``max_tokens - overlap`` after the last."""
    if max_tokens <= 0 or not 0 <= overlap < max_tokens:
        raise ValueError("need max_tokens > 0 and 0 <= overlap < max_tokens")
    if not text.strip():
        return []
    encoding = _counter().encode(text, add_special_tokens=False)
    offsets = encoding.offsets
    n = len(offsets)
    if n == 0:
        return []
    step = max_tokens - overlap
    chunks: list[TextChunk] = []
    start = 0
    while True:
        end = min(start + max_tokens, n)
        # Word pieces of one word share a word id; never cut a word in two at the end.
        while end < n and end > start + 1 and encoding.word_ids[end] is not None and \
                encoding.word_ids[end] == encoding.word_ids[end - 1]:
            end -= 1
        c_start, c_end = offsets[start][0], offsets[end - 1][1]
        chunks.append(TextChunk(text=text[c_start:c_end], tokens=end - start, start=c_start, end=c_end))
        if end >= n:
            break
        start = max(start + 1, min(start + step, end))
        while start < n and encoding.word_ids[start] is not None and start > 0 and \
                encoding.word_ids[start] == encoding.word_ids[start - 1]:
            start += 1
        if start >= n:
            break
    return chunks
