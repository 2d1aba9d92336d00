"""Opaque, unguessable, prefixed public ids (`asst_…`, `thread_…`, `msg_…`, …)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 24  # 24 characters of 62 symbols: about 143 bits, unguessable


def new_id(prefix: str) -> str:
    """A fresh public id such as ``run_Xk3…``; ``prefix`` is given without the underscore."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))


def id_factory(prefix: str):
    """A zero-argument callable for a model field default (migrations need a named callable)."""
    return _FACTORIES[prefix]


def new_assistant_id() -> str:
    return new_id("asst")


def new_thread_id() -> str:
    return new_id("thread")


def new_message_id() -> str:
    return new_id("msg")


def new_run_id() -> str:
    return new_id("run")


def new_step_id() -> str:
    return new_id("step")


def new_call_id() -> str:
    return new_id("call")


def new_file_id() -> str:
    """``file-…``: OpenAI's file ids use a hyphen, and clients match on that prefix."""
    return "file-" + new_id("x")[2:]


def new_vector_store_id() -> str:
    return new_id("vs")


def new_file_batch_id() -> str:
    return new_id("vsfb")


_FACTORIES = {
    "asst": new_assistant_id,
    "thread": new_thread_id,
    "msg": new_message_id,
    "run": new_run_id,
    "step": new_step_id,
    "call": new_call_id,
    "file": new_file_id,
    "vs": new_vector_store_id,
    "vsfb": new_file_batch_id,
}
