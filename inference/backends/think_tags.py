"""Reasoning a server left inside the reply as ``<think>…</think>``, split out (ENTITIES_THINK_TAGS).

Servers that separate reasoning themselves (vLLM with ``--reasoning-parser``, llama.cpp's
``--reasoning-format``, Ollama's ``think``, LM Studio's setting) need none of this. For one that
does not, ENTITIES_THINK_TAGS=true makes a reply that *begins* with ``<think>`` (after
whitespace) send what is inside as reasoning, as vLLM's DeepSeek-R1 and Qwen3 parsers do. A tag
cut across two chunks is held back until it can be told apart from text.
"""

from __future__ import annotations

from inference.events import ReasoningDelta, TextDelta

OPEN, CLOSE = "<think>", "</think>"


class ThinkTagSplitter:
    """Feed the reply's content pieces in order; ``flush()`` at the end (or before a tool call)."""

    def __init__(self) -> None:
        self.state = "start"  # start → think → gap → text, or start → text
        self.pending = ""

    def feed(self, text: str) -> list[ReasoningDelta | TextDelta]:
        self.pending += text
        out: list[ReasoningDelta | TextDelta] = []
        while self.pending:
            if self.state == "start":
                stripped = self.pending.lstrip()
                if stripped.startswith(OPEN):
                    self.pending, self.state = stripped[len(OPEN):], "think"
                elif OPEN.startswith(stripped):
                    break  # still maybe the opening tag
                else:
                    self.state = "text"
            elif self.state == "think":
                end = self.pending.find(CLOSE)
                if end < 0:
                    held = _tag_prefix_at_end(self.pending, CLOSE)
                    if len(self.pending) > held:
                        out.append(ReasoningDelta(self.pending[: len(self.pending) - held]))
                        self.pending = self.pending[len(self.pending) - held:]
                    break
                if end:
                    out.append(ReasoningDelta(self.pending[:end]))
                self.pending, self.state = self.pending[end + len(CLOSE):], "gap"
            elif self.state == "gap":
                # The blank lines models put after </think> are not part of the answer.
                self.pending = self.pending.lstrip()
                if self.pending:
                    self.state = "text"
            else:
                out.append(TextDelta(self.pending))
                self.pending = ""
        return out

    def flush(self) -> list[ReasoningDelta | TextDelta]:
        """What is held back, as what it turned out to be."""
        held, self.pending = self.pending, ""
        if not held or self.state == "gap":
            return []
        if self.state == "think":
            return [ReasoningDelta(held)]
        self.state = "text"
        return [TextDelta(held)]


def _tag_prefix_at_end(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could begin ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
