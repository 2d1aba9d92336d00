"""Writes on threads, messages and runs; one module per object type."""
