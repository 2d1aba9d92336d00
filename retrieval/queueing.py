"""Ingestion work was queued: tell whoever listens (the worker threads, registered at start-up).

A module of its own so that the services that queue work need not import the workers that
do it (retrieval.apps wires them together).
"""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable[[], None]] = []


def on_work(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever work is queued (after the transaction that queued it commits)."""
    if listener not in _listeners:
        _listeners.append(listener)


def work_queued() -> None:
    for listener in list(_listeners):
        listener()
