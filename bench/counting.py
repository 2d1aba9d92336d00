"""Entities under uvicorn with every SQL statement counted — for scenario S6 only.

    python -m bench.counting --port 9300

Django's `connection.execute_wrapper` hook is installed on every new connection (no
change to Entities, no sitecustomize); `GET /__bench__/queries` returns the counts so far
and `?reset=1` zeroes them. Everything else is the normal Entities ASGI application.
The timed scenarios never use this process.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections import Counter

_TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)
_SET = re.compile(r'\bSET\s+(.*?)\s+WHERE\b', re.IGNORECASE | re.DOTALL)
_COLUMN = re.compile(r'"?(\w+)"?\s*=')
# The engine renews its run leases on a timer (every ENTITIES_RUN_LEASE_SECONDS / 3): a
# write per 5 s of run time, not per token, so it is counted apart.
LEASE_ONLY = {"lease_expires_at"}
_lock = threading.Lock()
counts: Counter = Counter()
tables: Counter = Counter()


def _kind(sql: str) -> str:
    word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    return {"RELEASE": "SAVEPOINT", "ROLLBACK": "SAVEPOINT"}.get(word, word)


def wrapper(execute, sql, params, many, context):
    text = sql if isinstance(sql, str) else str(sql)
    kind = _kind(text)
    with _lock:
        counts[kind] += 1
        if kind in ("INSERT", "UPDATE", "DELETE"):
            match = _TABLE.match(text)
            table = match.group(1) if match else "?"
            if kind == "UPDATE" and _columns(text) == LEASE_ONLY:
                counts["LEASE_RENEWAL"] += 1
            tables[f"{kind} {table}"] += 1
    return execute(sql, params, many, context)


def _columns(sql: str) -> set[str]:
    match = _SET.search(sql)
    return set(_COLUMN.findall(match.group(1))) if match else set()


def snapshot(reset: bool = False) -> dict:
    with _lock:
        writes = counts["INSERT"] + counts["UPDATE"] + counts["DELETE"]
        data = {"statements": dict(counts), "writes_by_table": dict(tables), "reads": counts["SELECT"],
                "writes": writes, "lease_renewals": counts["LEASE_RENEWAL"],
                "writes_excluding_lease_renewals": writes - counts["LEASE_RENEWAL"]}
        if reset:
            counts.clear()
            tables.clear()
    return data


def build_app():
    from django.db.backends.signals import connection_created

    from entities_project.asgi import application

    def on_connection(sender, connection, **kwargs):
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(on_connection, weak=False)

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/__bench__/queries":
            body = json.dumps(snapshot(reset=b"reset=1" in scope.get("query_string", b""))).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await application(scope, receive, send)

    return app


def main(argv: list[str] | None = None) -> None:
    import os

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entities_project.settings")
    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", lifespan="on",
                log_level="warning", access_log=False, ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
