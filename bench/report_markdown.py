"""results.md: the Markdown tables of a benchmark run and its targets."""

from __future__ import annotations

from bench.report_verdicts import _get, verdicts


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _load(values) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "–"


def markdown(results: dict) -> str:
    """The text of results.md: the run's setting, the targets and a table per scenario."""
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    s = results.get("scenarios", {})
    lines = [f"# Entities benchmark — {meta.get('started', '')}", ""]
    v = machine.get("versions", {})
    lines += [
        f"- mode: **{meta.get('mode')}**, Entities server **{meta.get('server')}**"
        f"{' (quick)' if meta.get('quick') else ''}; git {machine.get('git', {}).get('sha', '')[:12]}"
        f"{' (dirty tree)' if machine.get('git', {}).get('dirty') else ''}",
        f"- machine: {machine.get('cpus')} × {machine.get('cpu_model')}, kernel {machine.get('kernel')}, "
        f"Python {machine.get('python')}, Django {v.get('Django')}, channels {v.get('channels')}, "
        f"uvicorn {v.get('uvicorn')} (uvloop {v.get('uvloop')}, httptools {v.get('httptools')}), daphne {v.get('daphne')}, "
        f"httpx {v.get('httpx')}, openai {v.get('openai')}",
        "- everything (client, fake model server, proxy, Entities, database) shares these cores: "
        "no pinning is possible on 2 CPUs, so client and fake CPU are reported next to Entities'.",
        f"- load average at start {_load(meta.get('load_average_at_start'))}, at end "
        f"{_load(meta.get('load_average_at_end'))}; 'others' columns are CPU used by processes that are not "
        "the benchmark's (% of one core).",
    ]
    for name, argv in (meta.get("commands") or {}).items():
        if name.startswith("entities-") and not name.endswith("-fresh"):
            lines.append(f"- `{name}`: `{' '.join(argv)}`")
    lines += ["", "## Targets", "", "| metric | target | measured | note | met |", "|---|---|---|---|---|"]
    for row in verdicts(results):
        met = {True: "yes", False: "**no**", None: "–"}[row["met"]]
        bound = "≥" if row["key"] == "list_rps" else "≤"
        lines.append(f"| {row['metric']} | {bound} {_f(row['target'])} {row['unit']} | {_f(row['measured'], 2)} "
                     f"{row['unit']} | {row['note'] or ''} | {met} |")

    single = s.get("single")
    if single and "targets" in single:
        p = single["params"]
        lines += ["", f"## S1 one stream ({single['rounds']} rounds × {single['round_size']} per target; "
                      f"{p['tokens']} tokens, ITL {p['itl_ms']:g} ms, TTFT 0 at the fake)", "",
                  f"Client: {single['client']}. p50 = median of round medians; p95/p99 pooled. "
                  f"Entities' own `entities_overhead_seconds` mean over the same C runs: "
                  f"{_f(single.get('entities_overhead_metric_mean_ms'), 2)} ms; its claim → first delta mean "
                  f"(`entities_time_to_first_token_seconds`): {_f(single.get('entities_claim_to_first_token_mean_ms'), 2)} ms. "
                  f"Other processes on the machine "
                  f"used {_f(single.get('others_pct'), 0)}% of a core meanwhile.", "",
                  "| target | ok | TTFT p50 | p95 | p99 | added TTFT p50 | p95 | p99 | ITL p50 | ITL p99 | added ITL p50 | p99 | total p50 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for key, t in single["targets"].items():
            a = t.get("added_ttft_ms", {})
            ai = t.get("added_itl_ms", {})
            lines.append(
                f"| {key}: {t['label']} | {t['ok']}/{t['runs']} | {_f(t['ttft_ms']['p50_rounds'], 2)} | "
                f"{_f(t['ttft_ms']['p95'], 2)} | {_f(t['ttft_ms']['p99'], 2)} | {_f(a.get('p50_rounds'), 2)} | "
                f"{_f(a.get('p95'), 2)} | {_f(a.get('p99'), 2)} | {_f(t['itl_ms']['p50'], 2)} | {_f(t['itl_ms']['p99'], 2)} | "
                f"{_f(ai.get('p50'), 2)} | {_f(ai.get('p99'), 2)} | {_f(t['total_ms']['p50_rounds'], 1)} |")
        lines.append("")
        lines.append("All times in ms.")
        lines += _peer_lines(single, ("ttft_p50", "added_ttft_p50", "total_p50", "added_total_p50"))

    thr = s.get("throughput")
    if thr and "targets" in thr:
        lines += ["", f"## S2 one stream, {thr['params']['tokens']} tokens as fast as the fake sends", "",
                  "| target | ok | tokens/s p50 | vs direct | server CPU µs/token |", "|---|---|---|---|---|"]
        for key, t in thr["targets"].items():
            lines.append(f"| {key}: {t['label']} | {t['ok']}/{t['runs']} | {_f(t['tokens_per_s']['p50'], 0)} | "
                         f"{_f(t['rate_vs_direct'], 2)} | {_f(t['server_cpu_us_per_token'], 1)} |")
        lines += _peer_lines(thr, ("server_cpu_us_per_token", "tokens_per_s_p50"))

    ladder = s.get("ladder")
    if ladder and "steps" in ladder:
        p = ladder["params"]
        lines += ["", f"## S3 concurrency ladder ({p['tokens']} tokens per stream at {1000 / p['itl_ms']:g} tok/s, "
                      f"fake TTFT {p['ttft_ms']:g} ms, streams started at {ladder['ramp_per_s']:g}/s, "
                      f"{ladder['rounds']} round(s), medians over rounds)", "",
                  "| N | target | success | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | added ITL p99 | lateness p99 | added lateness p99 | tokens/s | "
                  "µs CPU/token: server | fake | client | CPU %: server | fake | client | others | peak RSS server MB | client lag p99 ms |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n, by in ladder["steps"].items():
            for key, t in by.items():
                cpu, pct = t["cpu_us_per_token"], t["cpu_pct"]
                lines.append(
                    f"| {n} | {key} | {100 * t['success_rate']:.1f}% | {_f(t['ttft_ms']['p50'])} | {_f(t['ttft_ms']['p99'])} | "
                    f"{_f(t['itl_ms']['p50'])} | {_f(t['itl_ms']['p99'])} | {_f(_get(t, 'added_itl_ms', 'p99'))} | "
                    f"{_f(_get(t, 'lateness_ms', 'p99'))} | {_f(_get(t, 'added_lateness_ms', 'p99'))} | "
                    f"{_f(t['tokens_per_s'], 0)} | {_f(cpu.get('server'))} | {_f(cpu.get('fakeoai'))} | {_f(cpu.get('client'))} | "
                    f"{_f(pct.get('server'), 0)} | {_f(pct.get('fakeoai'), 0)} | {_f(pct.get('client'), 0)} | "
                    f"{_f(t.get('others_pct'), 0)} | "
                    f"{_f(t['peak_rss_mb'].get('server'), 0)} | {_f(t['client_loop_lag_ms']['p99'])} |")
        failed = [(n, k, t["errors"]) for n, by in ladder["steps"].items() for k, t in by.items() if t["errors"]]
        if failed:
            lines += ["", "Errors seen (first few per step):", ""]
            for n, k, errors in failed:
                lines.append(f"- N={n} {k}: " + "; ".join(f"`{e[:160]}`" for e in errors[:3]))

    head = s.get("headroom")
    if head and "max" in head:
        lines += ["", "## Fake model server headroom (measured directly, client only counting events)", "",
                  f"- max: **{_f(head['max']['chunks_per_s'], 0)} chunks/s** with {head['max']['streams']} streams "
                  f"(fake CPU {_f(head['max']['cpu_pct'].get('fakeoai'), 0)}%, client CPU "
                  f"{_f(head['max']['cpu_pct'].get('client'), 0)}%) = {_f(head['headroom_x'], 1)}× the heaviest "
                  f"ladder step's {_f(head['scenario_rate_chunks_per_s'], 0)} chunks/s",
                  f"- at 1× that rate: {_f(head['at_1x']['chunks_per_s'], 0)} chunks/s achieved "
                  f"({_f(100 * head['at_1x']['achieved_fraction'], 0)}% of wanted); at 5×: "
                  f"{_f(head['at_5x']['chunks_per_s'], 0)} chunks/s ({_f(100 * head['at_5x']['achieved_fraction'], 0)}% of wanted)"]

    crud = s.get("crud")
    if crud and "alone" in crud:
        lines += ["", "## S4/S5 request rates (closed loop, keep-alive)", "",
                  "| request | load | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU % | others CPU % | p99 vs alone |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for where in ("alone", "under_load"):
            for name, r in crud.get(where, {}).items():
                if name == "streams":
                    continue
                lat = r["latency_ms"]
                lines.append(f"| {name} | {where.replace('_', ' ')} | {_f(r['rps'], 0)} | {_f(lat['p50'], 2)} | "
                             f"{_f(lat['p95'], 2)} | {_f(lat['p99'], 2)} | {r['errors']} | "
                             f"{_f(r['cpu_pct'].get('server', r['cpu_pct'].get('fakeoai')), 0)} | "
                             f"{_f(r.get('others_pct'), 0)} | "
                             f"{_f(r.get('p99_vs_alone'), 2)} |")
        ratios = crud.get("ratios") or {}
        if ratios:
            lines.append(f"\nMessage list (16 clients) against the floors: {_f(ratios.get('list_vs_django_floor'), 2)} × "
                         f"the Django floor (sync view), {_f(ratios.get('list_vs_django_floor_async'), 2)} × the async "
                         f"one, {_f(ratios.get('list_vs_raw_asgi'), 3)} × raw ASGI; the Django floor is "
                         f"{_f(ratios.get('django_floor_vs_raw_asgi'), 3)} × raw ASGI.")
        bg = crud.get("under_load", {}).get("streams")
        if bg:
            lines.append(f"\nBackground load: {bg['n']} streams at {1000 / bg['params']['itl_ms']:g} tok/s, "
                         f"{bg['ok']}/{bg['n']} ok, ITL p99 {_f(bg['itl_ms']['p99'])} ms.")

    db = s.get("db")
    if db and "variants" in db:
        lines += ["", "## S6 database work per run (one streamed run, counted end to end)", "",
                  "| database | reply tokens | SELECT | writes (INSERT+UPDATE+DELETE) | of which lease renewals | writes by table | rows written (server side) | commits (server side) |",
                  "|---|---|---|---|---|---|---|---|"]
        for kind, variant in db["variants"].items():
            for tokens, r in variant["runs"].items():
                pg = r.get("pg_server") or {}
                tables = ", ".join(f"{k} ×{n}" for k, n in sorted(r["writes_by_table"].items()))
                lines.append(f"| {kind} | {tokens} | {r['reads']} | {r['writes']} | {r.get('lease_renewals', 0)} | {tables} | "
                             f"{_f(pg.get('rows_written'))} | {_f(pg.get('xact_commit'))} |")
        empty = _get(db, "variants", "postgres", "pg_empty_window")
        if empty:
            lines.append(f"\nAn empty PostgreSQL window (the reading itself) counts {empty['xact_commit']} commits and "
                         f"{empty['rows_written']} rows written. Lease renewals are the engine's timer "
                         "(one UPDATE per ENTITIES_RUN_LEASE_SECONDS/3 of run time), not per token.")

    ws = s.get("ws")
    if ws:
        lines += ["", "## S7 idle WebSockets", "", "| server | sockets open | KiB RSS per socket | idle CPU % per 1,000 sockets |",
                  "|---|---|---|---|"]
        for server, r in ws.items():
            if isinstance(r, dict) and "sockets" in r:
                lines.append(f"| {server} | {r['opened']}/{r['sockets']} | {_f(r['kib_per_socket'])} | "
                             f"{_f(r['idle_cpu_pct_per_1000'], 2)} |")

    comparison = server_comparison(results)
    if comparison:
        lines += ["", "## daphne vs uvicorn", ""] + [f"- {line}" for line in comparison]

    prof = s.get("profile")
    if prof and any(prof.get(k) for k in ("single", "per_run", "stream", "list")):
        for part, title in (("single", "one long stream after another (the per-token path)"),
                            ("per_run", "one-token runs back to back (the per-run path)"),
                            ("stream", "streaming ladder step"), ("list", "message list requests")):
            entry = prof.get(part) or {}
            hot = entry.get("hot") or {}
            if not hot.get("samples"):
                continue
            what = {"stream": f"{entry.get('n')} streams", "list": "16 workers",
                    "single": f"{entry.get('streams')} streams, {entry.get('tokens')} tokens",
                    "per_run": f"{entry.get('streams')} runs"}[part]
            lines += ["", f"## Profile: {title} (py-spy, {hot['samples']} samples, {what}, {prof['server']})", "",
                      "| top self time | % | top inclusive, Entities code | % |", "|---|---|---|---|"]
            selfs, incl = hot["self"][:15], hot["inclusive_project"][:15]
            for i in range(max(len(selfs), len(incl))):
                a = selfs[i] if i < len(selfs) else {"function": "", "pct": ""}
                b = incl[i] if i < len(incl) else {"function": "", "pct": ""}
                lines.append(f"| `{a['function']}` | {a['pct']} | `{b['function']}` | {b['pct']} |")
    elif prof:
        lines += ["", f"## Profile: {prof.get('skipped') or prof.get('error')}"]

    broken = {k: v["error"] for k, v in s.items() if isinstance(v, dict) and v.get("error")}
    if broken:
        lines += ["", "## Scenarios that did not complete", ""] + [f"- {k}: `{e[:300]}`" for k, e in broken.items()]
    return "\n".join(lines) + "\n"


def server_comparison(results: dict) -> list[str]:
    """Lines comparing the primary server with the other one wherever both were measured."""
    s = results.get("scenarios", {})
    primary = results.get("meta", {}).get("server", "uvicorn")
    out = []
    single = _get(s, "single", "targets", default={}) or {}
    for key, t in single.items():
        if key.startswith("C_") and key != "C_ws":
            mine, theirs = single["C"], t
            out.append(f"S1 added TTFT p50: {primary} {_f(_get(mine, 'added_ttft_ms', 'p50_rounds'), 2)} ms vs "
                       f"{key[2:]} {_f(_get(theirs, 'added_ttft_ms', 'p50_rounds'), 2)} ms; p99 "
                       f"{_f(_get(mine, 'added_ttft_ms', 'p99'), 2)} vs {_f(_get(theirs, 'added_ttft_ms', 'p99'), 2)} ms")
    for n, by in (_get(s, "ladder", "steps", default={}) or {}).items():
        for key, t in by.items():
            if key.startswith("C_"):
                mine = by["C"]
                out.append(f"ladder N={n}: {primary} success {100 * mine['success_rate']:.1f}%, ITL p99 "
                           f"{_f(mine['itl_ms']['p99'])} ms, {_f(mine['cpu_us_per_token'].get('server'))} µs CPU/token vs "
                           f"{key[2:]} success {100 * t['success_rate']:.1f}%, ITL p99 {_f(t['itl_ms']['p99'])} ms, "
                           f"{_f(t['cpu_us_per_token'].get('server'))} µs CPU/token")
    for server, r in (s.get("ws") or {}).items():
        if isinstance(r, dict) and r.get("kib_per_socket") is not None and server != primary:
            out.append(f"idle WebSocket: {server} {_f(r['kib_per_socket'])} KiB vs {primary} "
                       f"{_f(_get(s, 'ws', primary, 'kib_per_socket'))} KiB")
    return out


def _peer_lines(scenario: dict, keys: tuple[str, ...]) -> list[str]:
    """R ÷ O (Entities' Responses stream over OGX's) and the peers that did not run, and why."""
    lines = []
    versus = scenario.get("R_vs_O")
    if versus:
        figures = ", ".join(f"{key} {_f(versus.get(key), 2)}" for key in keys)
        lines += ["", f"R ÷ O (Entities' Responses stream over OGX's; for times and CPU below 1 is better, "
                      f"for tokens/s above 1): {figures}."]
    for key, reason in (scenario.get("skipped_targets") or {}).items():
        lines += ["", f"Target {key} skipped: {reason}."]
    return lines
