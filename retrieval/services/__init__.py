"""Writes: stores, attaching files and batches, ingestion (business rules live here)."""
