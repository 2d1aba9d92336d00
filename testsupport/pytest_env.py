"""Environment defaults for the test suite, loaded with `-p` before Django's settings.

Tests run with DEBUG off (as in production) and a fixed key; real env vars win. Runs use
short leases and a fast sweeper so recovery after a dead process is observable quickly.
"""

import os

os.environ.setdefault("SECRET_KEY", "entities-test-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ENTITIES_RUN_LEASE_SECONDS", "3")
os.environ.setdefault("ENTITIES_SWEEP_INTERVAL_SECONDS", "0.5")
os.environ.setdefault("DEMO_TOKEN_DELAY", "0.005")
# Each pytest process stores file bytes in a folder of its own (its test database is its own too).
os.environ.setdefault("ENTITIES_FILES_DIR", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                         ".local", f"test-files-{os.getpid()}"))
os.environ.setdefault("ENTITIES_FILES_SWEEP_SECONDS", "0.5")
# Off by default: its extra model call would take a scenario a test queued for its next run.
# The tests of model-written titles turn it on (conversations/tests/test_titles.py).
os.environ.setdefault("ENTITIES_AUTO_TITLE", "0")
