"""Reads of files: the one access function every surface uses, and the list."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from files.models import PURPOSES, File
from kernel.errors import InvalidRequest, NotFound
from kernel.pagination import PageParams, paginate

# GET /v1/files allows up to 10,000 per page and defaults to 10,000 (OpenAI's reference).
FILES_MAX_LIMIT = 10_000


def _live(qs: QuerySet) -> QuerySet:
    """Files not yet expired: an expired file is gone for clients even before the sweep runs."""
    return qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def file_get_for_user(*, user, file_id: str, param: str | None = None) -> File:
    """The user's file, or NotFound (also for other users' files and expired ones)."""
    file = _live(File.objects.filter(pk=file_id, owner=user)).first() if isinstance(file_id, str) and file_id else None
    if file is None:
        raise NotFound(f"No such File object: {file_id}", param=param)
    return file


def files_for_user(*, user, file_ids: list[str]) -> dict[str, File]:
    """The user's live files among ``file_ids``, by id (unknown and foreign ids are absent)."""
    ids = [i for i in file_ids if isinstance(i, str) and i]
    if not ids:
        return {}
    return {f.pk: f for f in _live(File.objects.filter(pk__in=ids, owner=user))}


def live_file_ids(*, owner_id: int, file_ids: list[str]) -> set[str]:
    """Those of ``file_ids`` that are live files of the owner."""
    ids = [i for i in file_ids if isinstance(i, str) and i]
    if not ids:
        return set()
    return set(_live(File.objects.filter(pk__in=ids, owner_id=owner_id)).values_list("pk", flat=True))


def page_params(query) -> PageParams:
    """limit (1–10,000, default 10,000), order, after: the Files list's own bounds."""
    raw = query.get("limit")
    limit = FILES_MAX_LIMIT
    if raw not in (None, ""):
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= FILES_MAX_LIMIT:
            raise InvalidRequest(f"Invalid 'limit': expected an integer from 1 to {FILES_MAX_LIMIT}.", param="limit")
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequest("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    return PageParams(limit=limit, order=order, after=query.get("after") or None)


def file_list(*, user, page: PageParams, purpose: str | None = None) -> tuple[list[File], bool]:
    """One page of the user's live files, optionally of one purpose."""
    qs = _live(File.objects.filter(owner=user))
    if purpose:
        if purpose not in PURPOSES:
            raise InvalidRequest(f"Invalid 'purpose': expected one of {', '.join(PURPOSES)}.", param="purpose")
        qs = qs.filter(purpose=purpose)
    return paginate(qs, page)
