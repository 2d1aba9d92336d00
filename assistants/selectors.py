"""Reads of assistants: the one access function every surface uses."""

from __future__ import annotations

from assistants.models import Assistant
from kernel.errors import NotFound
from kernel.pagination import PageParams, paginate


def assistant_get_for_user(*, user, assistant_id: str, param: str | None = None) -> Assistant:
    """The user's assistant, or NotFound (also for other users' assistants)."""
    assistant = Assistant.objects.filter(pk=assistant_id, owner=user).first() if assistant_id else None
    if assistant is None:
        raise NotFound(f"No assistant found with id '{assistant_id}'.", param=param)
    return assistant


def assistant_list(*, user, page: PageParams) -> tuple[list[Assistant], bool]:
    return paginate(Assistant.objects.filter(owner=user), page)
