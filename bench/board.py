#!/usr/bin/env python3
"""Board latency and plans: calls GET /funnels/{id}/board CALLS times, one call at a time, for
the funnel with the most opportunities (all, one owner, health=red) and the continuation of its
first column through GET /opportunities?view=card, and prints p50 / p99 / max in milliseconds;
with --explain, prints EXPLAIN (ANALYZE, BUFFERS) of the board's two statements as the server
sends them (the templates in src/board/sql with the health and fence filled in).

    bench/board.py BASE_URL TOKEN FUNNEL_ID OWNER_ID [--calls 50] [--explain DATABASE_URL]

Python 3 standard library only (plus psql on PATH for --explain)."""

import argparse
import json
import math
import pathlib
import statistics
import subprocess
import time
import urllib.request

SQL = pathlib.Path(__file__).resolve().parent.parent / "src"
HEALTH = ("opportunity_health(o.status, o.last_contact_at, health_cutoff(s.warn_after_days, f.warn_after_days), "
          "health_cutoff(s.critical_after_days, f.critical_after_days), "
          "followup_keeps_yellow(f.planned_followup_keeps_yellow, o.next_activity_due_at, "
          "s.warn_after_days, f.warn_after_days))")
FENCE = ("($5::uuid IS NULL OR o.owner_id = $5::uuid OR EXISTS (SELECT 1 FROM funnel_members m "
         "WHERE m.funnel_id = o.funnel_id AND m.user_id = $5::uuid))")


def call(base, token, path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000, body


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(base, token, funnel, owner, calls):
    board = json.loads(call(base, token, f"/api/v1/funnels/{funnel}/board")[1])
    column = max(board["stages"], key=lambda c: c["count"])
    print("stages:", ", ".join(f"{c['code']} {c['count']}" for c in board["stages"]))
    cases = [
        ("board", f"/api/v1/funnels/{funnel}/board"),
        ("board, one owner", f"/api/v1/funnels/{funnel}/board?owner_id={owner}"),
        ("board, health=red", f"/api/v1/funnels/{funnel}/board?health=red"),
        ("board, 100 per stage", f"/api/v1/funnels/{funnel}/board?limit_per_stage=100"),
        ("column continued (view=card)", f"/api/v1/opportunities?funnel_id={funnel}&stage_id={column['id']}"
                                         f"&view=card&limit=20&cursor={column['next_cursor'] or ''}"),
    ]
    print(f"{'request':<32} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}")
    for name, path in cases:
        for _ in range(3):
            call(base, token, path)
        times = [call(base, token, path)[0] for _ in range(calls)]
        print(f"{name:<32} {statistics.median(times):8.1f} {percentile(times, 0.99):8.1f} "
              f"{max(times):8.1f} {statistics.mean(times):8.1f}")


def statement(template, source):
    text = (SQL / "board" / "sql" / f"{template}.sql").read_text()
    return text.replace("{source}", source).replace("{fence}", FENCE).replace("{health}", HEALTH)


def explain(database_url, funnel, owner):
    cells = (SQL / "reports" / "sql" / "cells.sql").read_text().strip()
    health_source = (SQL / "board" / "sql" / "health_source.sql").read_text()
    cases = [
        ("stages (all)", "stages", cells, "NULL, NULL, NULL, NULL", ""),
        ("cards (all)", "cards", "", "NULL, NULL, NULL, NULL", ", 21"),
        ("stages (one owner)", "stages", cells, f"'{owner}', NULL, NULL, NULL", ""),
        ("cards (one owner)", "cards", "", f"'{owner}', NULL, NULL, NULL", ", 21"),
        ("stages (health=red)", "stages", health_source, "NULL, NULL, 'red', NULL", ""),
        ("cards (health=red)", "cards", "", "NULL, NULL, 'red', NULL", ", 21"),
    ]
    for name, template, source, args, extra in cases:
        params = "uuid, uuid, text, text, uuid" + (", bigint" if extra else "")
        sql = (f"SET jit = off;\nPREPARE board({params}) AS {statement(template, source)};\n"
               f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE board('{funnel}', {args}{extra});\n")
        print(f"\n===== EXPLAIN ANALYZE {name}")
        result = subprocess.run(["psql", "-X", "-q", "-d", database_url],
                                input=sql, text=True, capture_output=True, check=False)
        print(result.stdout.rstrip() or result.stderr.rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("funnel")
    parser.add_argument("owner")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--explain", metavar="DATABASE_URL")
    args = parser.parse_args()
    latencies(args.base.rstrip("/"), args.token, args.funnel, args.owner, args.calls)
    if args.explain:
        explain(args.explain, args.funnel, args.owner)


if __name__ == "__main__":
    main()
