"""Shared by the retrieval tests: documents with known content, and waiting with a deadline."""

from __future__ import annotations

import io
import time

DOCS = {
    "volcanoes.md": "# Volcanoes\nMagma rises through the crust and erupts as lava. Basalt forms when lava cools "
                    "quickly. Mount Etna in Sicily is one of the most active volcanoes in Europe.",
    "baking.txt": "Sourdough bread needs a starter of wild yeast and lactobacilli. Bake the loaf at 250 degrees "
                  "in a covered pot so the crust stays crackly.",
    "tides.html": "<html><body><h1>Tides</h1><p>The gravitational pull of the Moon raises ocean tides twice a "
                  "day. Spring tides happen at new and full moon.</p><script>alert(1)</script></body></html>",
}


def upload(client, name: str, content: str | bytes):
    data = content.encode() if isinstance(content, str) else content
    return client.files.create(file=(name, io.BytesIO(data)), purpose="assistants")


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value; fail the test at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)
