"""The /v1 views of threads, messages, runs and run steps (routes in `urls.py`)."""
