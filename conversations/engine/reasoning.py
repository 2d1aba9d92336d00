"""A thinking model's reasoning within one model turn.

It streams as ``thread.reasoning.delta`` events under an id ``rs_X`` of its own, before
the turn's reply or tool calls exist. The step that follows takes the same suffix (message
``msg_X``, tool step ``step_X``) and stores the text, so a replay from stored state and the
Responses API's ``reasoning`` item name it as the live stream did.
"""

from __future__ import annotations

from conversations.engine.events import reasoning_delta
from kernel.ids import new_id


class TurnReasoning:
    """The reasoning text of one model turn, as it arrives."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> dict:
        """Take one piece; returns the payload of its ``thread.reasoning.delta`` event."""
        if self.id is None:
            self.id = new_id("rs")
        self.parts.append(text)
        return reasoning_delta(self.id, text)

    def step_id(self) -> str | None:
        """The id the turn's tool step takes (None: the turn did not reason)."""
        return reasoning_sibling(self.id, "step") if self.id else None

    def message_fields(self) -> dict:
        """``store.create_assistant_message`` arguments for the turn's reply ({} without reasoning)."""
        return {"message_id": reasoning_sibling(self.id, "msg"), "reasoning": self.text} if self.id else {}


def reasoning_sibling(object_id: str, prefix: str) -> str:
    """``reasoning_sibling("msg_X", "rs") == "rs_X"``: the ids of a reasoning and its step share a suffix."""
    return prefix + "_" + object_id.split("_", 1)[-1]
