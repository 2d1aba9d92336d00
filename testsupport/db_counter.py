"""Count the statements that write to the database, on every connection of the process.

`assertNumQueries` sees only the test thread's connection, but the run engine writes from
worker threads (and the live server from its own). Every Django cursor, on any thread and
any backend, executes through ``CursorWrapper._execute_with_wrappers``, so the counter
hooks that one method for as long as it is active — connections opened before it started
are counted too.

    with WriteCounter() as writes:
        ...
    assert writes.count == 7, writes.report()
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from django.db.backends.utils import CursorWrapper

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
TABLE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE)


class WriteCounter:
    """Records each INSERT, UPDATE and DELETE (an executemany counts once) while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._lock = threading.Lock()
        self._original = None

    @property
    def count(self) -> int:
        return len(self.statements)

    def by_table(self) -> Counter:
        """{"UPDATE conversations_run": 3, …}."""
        found = Counter()
        for sql in self.statements:
            verb = sql.split(None, 1)[0].upper()
            table = TABLE.match(sql)
            found[f"{verb} {table.group(1) if table else '?'}"] += 1
        return found

    def report(self) -> str:
        return ", ".join(f"{name} ×{n}" for name, n in sorted(self.by_table().items()))

    def reset(self) -> None:
        with self._lock:
            self.statements.clear()

    def _record(self, sql: str) -> None:
        if WRITE.match(sql):
            with self._lock:
                self.statements.append(sql)

    def __enter__(self) -> "WriteCounter":
        original = self._original = CursorWrapper._execute_with_wrappers
        counter = self

        def counting(cursor, sql, params, many, executor):
            counter._record(sql if isinstance(sql, str) else str(sql))
            return original(cursor, sql, params, many, executor)

        CursorWrapper._execute_with_wrappers = counting
        return self

    def __exit__(self, *exc_info: object) -> None:
        CursorWrapper._execute_with_wrappers = self._original
