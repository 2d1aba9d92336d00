"""Files: the /v1/files API, their bytes in a Django storage, limits, expiry (docs/files.md)."""
