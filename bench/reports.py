#!/usr/bin/env python3
"""Report latency and plans: calls every report CALLS times, one call at a time, for all
funnels and for one owner, and prints p50 / p99 / max in milliseconds; with --explain, prints
EXPLAIN (ANALYZE, BUFFERS) of each report statement as the server sends it (the templates in
src/reports/sql with the scope filled in).

    bench/reports.py BASE_URL TOKEN OWNER_ID [--calls 50] [--explain DATABASE_URL]

Python 3 standard library only (plus psql on PATH for --explain)."""

import argparse
import math
import pathlib
import statistics
import subprocess
import time
import urllib.request

SQL = pathlib.Path(__file__).resolve().parent.parent / "src" / "reports" / "sql"

REPORTS = [
    ("pipeline", "/api/v1/reports/pipeline"),
    ("forecast by month", "/api/v1/reports/forecast?months=6"),
    ("forecast by owner", "/api/v1/reports/forecast?months=6&group_by=owner"),
    ("forecast by article", "/api/v1/reports/forecast?months=6&group_by=article"),
    ("owners", "/api/v1/reports/owners"),
    ("win-loss (365 days)", "/api/v1/reports/win-loss"),
    ("stage conversion (365 days)", "/api/v1/reports/stage-conversion"),
]


def call(base, token, path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(base, token, owner, calls):
    print(f"{'report':<30} {'scope':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}")
    for name, path in REPORTS:
        for scope, query in (("all", ""), ("one owner", f"owner_id={owner}")):
            url = path + (("&" if "?" in path else "?") + query if query else "")
            for _ in range(3):
                call(base, token, url)
            times = [call(base, token, url) for _ in range(calls)]
            print(f"{name:<30} {scope:<10} {statistics.median(times):8.1f} {percentile(times, 0.99):8.1f} "
                  f"{max(times):8.1f} {statistics.mean(times):8.1f}")


def statement(template, params, args):
    scope = (SQL / "scope.sql").read_text()
    cells = (SQL / "cells.sql").read_text().strip()
    text = (SQL / f"{template}.sql").read_text().replace("{scope}", scope).replace("{cells}", cells)
    return (f"SET jit = off;\nPREPARE report({params}) AS {text};\n"
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE report({args});\n")


def explain(database_url, owner):
    scope = "uuid, uuid, text, uuid, uuid[]"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    month = today[:8] + "01"
    statements = [
        ("pipeline", scope, ""),
        ("forecast", scope + ", date, date, boolean", f", '{month}', '{month}'::date + interval '6 months', true"),
        ("forecast_articles", scope + ", date, date", f", '{month}', '{month}'::date + interval '6 months'"),
        ("owners", scope, ""),
        ("win_loss", scope + ", date, date", f", '{today}'::date - 364, '{today}'::date + 1"),
        ("stage_conversion", scope + ", date, date", f", '{today}'::date - 364, '{today}'::date + 1"),
    ]
    for template, params, extra in statements:
        for scope_name, scope_args in (("all", "NULL, NULL, NULL, NULL, '{}'"),
                                       ("one owner", f"NULL, '{owner}', NULL, NULL, '{{}}'")):
            print(f"\n===== EXPLAIN ANALYZE {template} ({scope_name})")
            sql = statement(template, params, scope_args + extra)
            result = subprocess.run(["psql", "-X", "-q", "-d", database_url],
                                    input=sql, text=True, capture_output=True, check=False)
            print(result.stdout.rstrip() or result.stderr.rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("owner")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--explain", metavar="DATABASE_URL")
    args = parser.parse_args()
    latencies(args.base.rstrip("/"), args.token, args.owner, args.calls)
    if args.explain:
        explain(args.explain, args.owner)


if __name__ == "__main__":
    main()
