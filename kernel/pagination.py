"""Cursor pagination shared by every list: limit / order / after / before.

Items are ordered by (created_at, id). The id breaks ties, so cursors stay correct when
items share a timestamp, and the SDK's auto-paging (``?after=<last id>``) visits each
item exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from kernel.errors import InvalidRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    order: str = "desc"
    after: str | None = None
    before: str | None = None


def page_params_from_query(query) -> PageParams:
    """Parse and validate list parameters from a QueryDict-like mapping."""
    raw_limit = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit not in (None, ""):
        try:
            limit = int(raw_limit)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid 'limit': expected an integer from 1 to {MAX_LIMIT}.", param="limit") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"Invalid 'limit': {limit} is not between 1 and {MAX_LIMIT}.", param="limit")
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequest("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    return PageParams(limit=limit, order=order, after=query.get("after") or None, before=query.get("before") or None)


def _beyond(qs: QuerySet, cursor: str, *, greater: bool, param: str) -> QuerySet:
    anchor = qs.filter(pk=cursor).values_list("created_at", "pk").first()
    if anchor is None:
        raise InvalidRequest(f"Invalid '{param}': no object {cursor!r} in this list.", param=param)
    created_at, pk = anchor
    if greater:
        return qs.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))
    return qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))


def paginate(qs: QuerySet, params: PageParams) -> tuple[list, bool]:
    """One page of ``qs`` (a queryset already scoped to the owner) and whether more follow."""
    descending = params.order == "desc"
    if params.after:
        qs = _beyond(qs, params.after, greater=not descending, param="after")
    if params.before:
        qs = _beyond(qs, params.before, greater=descending, param="before")
    if params.before and not params.after:
        # Take the items nearest to the cursor, then restore the requested order.
        near_first = ("created_at", "pk") if descending else ("-created_at", "-pk")
        rows = list(qs.order_by(*near_first)[: params.limit + 1])
        has_more = len(rows) > params.limit
        return list(reversed(rows[: params.limit])), has_more
    ordering = ("-created_at", "-pk") if descending else ("created_at", "pk")
    rows = list(qs.order_by(*ordering)[: params.limit + 1])
    return rows[: params.limit], len(rows) > params.limit
