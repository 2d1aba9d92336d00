"""Entities' own settings, plus the "Django floor" URLs when ENTITIES_BENCH_FLOOR=1 (bench only).

The bench starts Entities with ``DJANGO_SETTINGS_MODULE=bench.floor_settings``: everything
is ``entities_project.settings`` (same middleware, same server, same database), and with
ENTITIES_BENCH_FLOOR=1 the URL conf is ``bench.floor_urls``: Entities' URLs and two trivial
views after them. Production never loads this module.
"""

import os

from entities_project.settings import *  # noqa: F401,F403

if os.environ.get("ENTITIES_BENCH_FLOOR") == "1":
    ROOT_URLCONF = "bench.floor_urls"
