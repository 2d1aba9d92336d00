"""Inference backends: sibling plugins sharing `base.InferenceBackend`'s contract."""

from inference.backends.base import InferenceBackend

__all__ = ["InferenceBackend"]
