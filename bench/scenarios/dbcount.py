"""S6 database work per run, for a short and a long reply: writes must not grow with length.

Two independent counts, each on an Entities process of its own (bench/counting.py) with a
database of its own, one streamed run at a time:

- statements, from Django's execute-wrapper hook (SQLite, the default config, and
  PostgreSQL): SELECT / INSERT / UPDATE / DELETE per run, writes by table;
- rows, at the server (PostgreSQL only): pg_stat_user_tables n_tup_ins/upd/del and
  pg_stat_database xact_commit deltas. PostgreSQL publishes a connection's counters when
  it has been idle ~10 s, so each reading waits for that, and an empty window measures
  what the reading itself adds.

The process's sweeper is slowed to once an hour so background checks do not land in a window.
"""

from __future__ import annotations

import asyncio

from bench.api import EntitiesApi
from bench.fakeoai import model_name
from bench.httpclient import Connection
from bench.procs import PYTHON, free_port
from bench.scenarios import Context
from bench.stack import postgres_available
from bench.streams import stream_run

COUNT_DATABASE = "entities_bench_count"
PG_FLUSH_SECONDS = 11.5
RUN_TIMEOUT = 120.0


def _pg_counters(name: str) -> dict:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name} connect_timeout=5",
                         autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables").fetchall()
        db = conn.execute("SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
                          "FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
    tables = {r[0]: {"ins": r[1], "upd": r[2], "del": r[3]} for r in rows}
    return {"tables": tables, "xact_commit": db[0], "xact_rollback": db[1], "tup_inserted": db[2],
            "tup_updated": db[3], "tup_deleted": db[4]}


def _pg_delta(before: dict, after: dict) -> dict:
    tables = {}
    for name, now in after["tables"].items():
        was = before["tables"].get(name, {"ins": 0, "upd": 0, "del": 0})
        change = {k: now[k] - was[k] for k in ("ins", "upd", "del")}
        if any(change.values()):
            tables[name] = change
    out = {k: after[k] - before[k] for k in ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")}
    out["rows_written"] = out["tup_inserted"] + out["tup_updated"] + out["tup_deleted"]
    out["tables"] = tables
    return out


class PgWindows:
    """Consecutive readings of the server's counters, each after the last writes were published."""

    def __init__(self, name: str):
        self.name = name
        self.last: dict | None = None

    async def settle(self) -> None:
        await asyncio.sleep(PG_FLUSH_SECONDS)
        self.last = await asyncio.to_thread(_pg_counters, self.name)

    async def window(self, work) -> dict:
        before = self.last
        await work()
        await self.settle()
        return _pg_delta(before, self.last)


async def _variant(ctx: Context, kind: str, log) -> dict:
    stack, plan = ctx.stack, ctx.plan
    postgres = kind == "postgres"
    database = stack.new_database(postgres=postgres, name=COUNT_DATABASE)
    env = stack.entities_env(database, redis=False, ENTITIES_SWEEP_INTERVAL_SECONDS="3600")
    key = await asyncio.to_thread(stack.prepare, database, env)
    port = free_port()
    child = await asyncio.to_thread(stack.spawn, f"counting-{kind}", [PYTHON, "-m", "bench.counting", "--port", str(port)],
                                    env=env, port=port, ready_path="/healthz")
    api = EntitiesApi(port, key)
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
    out: dict = {"database": database.kind, "runs": {}}
    try:
        assistant = await api.create_assistant("cloud/bench")
        threads = await api.create_threads(len(plan.db_tokens) + 1)

        async def counts(reset: bool = False) -> dict:
            return (await api.pool.request("GET", "/__bench__/queries" + ("?reset=1" if reset else ""))).json()

        async def one_run(thread_id: str, tokens: int) -> dict:
            model = "cloud/" + model_name(ttft_ms=0, itl_ms=0, tokens=tokens, chunk_tokens=1)
            result = await stream_run(conn, thread_id, assistant, model, tokens, RUN_TIMEOUT)
            await asyncio.sleep(0.5)  # the run's last write has returned before its last event; margin anyway
            return {"ok": result.ok, "error": result.error, "deltas": result.deltas}

        await one_run(threads[0], 5)  # warm-up: first SDK client, first connections
        pg = PgWindows(database.pg_name) if postgres else None
        if pg is not None:
            await pg.settle()
            out["pg_empty_window"] = await pg.window(lambda: asyncio.sleep(0))
        for thread_id, tokens in zip(threads[1:], plan.db_tokens):
            await counts(reset=True)
            box: dict = {}

            async def work(thread_id=thread_id, tokens=tokens, box=box) -> None:
                box["run"] = await one_run(thread_id, tokens)
                box["statements"] = await counts()

            if pg is not None:
                box["pg_server"] = await pg.window(work)
            else:
                await work()
            entry = box["run"] | box["statements"]
            if "pg_server" in box:
                entry["pg_server"] = box["pg_server"]
            out["runs"][str(tokens)] = entry
            log(f"  S6 {kind} {tokens} tokens: {entry['reads']} reads, {entry['writes']} writes"
                + (f", {box['pg_server']['rows_written']} rows written (server side)" if postgres else ""))
    finally:
        await conn.close()
        await api.close()
        await asyncio.to_thread(child.stop)
        stack.children.pop(f"counting-{kind}", None)
    short, long = (out["runs"][str(t)] for t in plan.db_tokens)
    # Lease renewals are per 5 s of run time (a slow machine makes the long run longer), not per token.
    grown = long["writes_excluding_lease_renewals"] - short["writes_excluding_lease_renewals"]
    out["writes_grow_with_length"] = grown > 0
    out["writes_per_token"] = grown / (plan.db_tokens[1] - plan.db_tokens[0])
    return out


async def run_dbcount(ctx: Context, log) -> dict:
    out: dict = {"how": "statements: Django execute_wrapper in bench/counting.py; rows: pg_stat_user_tables deltas",
                 "variants": {}}
    kinds = ["sqlite"]
    if ctx.plan.db_postgres or ctx.stack.scale:
        if await asyncio.to_thread(postgres_available):
            kinds.append("postgres")
        else:
            out["postgres_skipped"] = "PostgreSQL did not answer at 127.0.0.1:5432"
    for kind in kinds:
        out["variants"][kind] = await _variant(ctx, kind, log)
    return out
