#!/usr/bin/env python3
"""The client side of bench/batch.sh (see there); Python 3 standard library only.

Environment: PORT, TOKEN (integration role), SERVER_PID (for its CPU time), BENCH_PARTNERS,
BENCH_ROUNDS, BENCH_BATCH_SIZE."""

import http.client
import json
import os
import statistics
import time

PORT = int(os.environ["PORT"])
TOKEN = os.environ["TOKEN"]
SERVER_PID = os.environ["SERVER_PID"]
PARTNERS = int(os.environ.get("BENCH_PARTNERS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH = int(os.environ.get("BENCH_BATCH_SIZE", "100"))
PATH = "/api/v1/business-partners/by-external-id/"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu():
    """The server's user + system CPU seconds so far."""
    with open(f"/proc/{SERVER_PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def partner(key):
    return {"kind": "customer", "name": f"Kunde {key} GmbH", "city": "München", "country": "DE",
            "postal_code": "80802", "street": "Leopoldstraße 12", "vat_id": "DE123456789",
            "email": f"{key.lower()}@kunde.example"}


def send(conn, method, path, body):
    conn.request(method, path, body=json.dumps(body), headers=HEADERS)
    response = conn.getresponse()
    return response.status, response.read()


def singles(conn, keys, expect):
    for key in keys:
        status, body = send(conn, "PUT", PATH + key, partner(key))
        assert status == expect, (status, body[:300])


def batches(conn, keys, expect, atomic=False):
    for start in range(0, len(keys), BATCH):
        ops = [{"method": "PUT", "path": PATH + key, "body": partner(key)} for key in keys[start:start + BATCH]]
        status, body = send(conn, "POST", "/api/v1/batch", {"atomic": atomic, "operations": ops})
        assert status == 200, (status, body[:300])
        got = {r["status"] for r in json.loads(body)["results"]}
        assert got == {expect}, (got, body[:300])


def atomic_batches(conn, keys, expect):
    batches(conn, keys, expect, atomic=True)


def measure(kind, run, keys, expect):
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    cpu, start = server_cpu(), time.monotonic()
    run(conn, keys, expect)
    wall, cpu = time.monotonic() - start, server_cpu() - cpu
    conn.close()
    print(f"RESULT {kind} partners={len(keys)} wall_s={wall:.2f} partners_per_s={len(keys) / wall:.0f} "
          f"server_cpu_us_per_partner={1e6 * cpu / len(keys):.0f}", flush=True)
    return wall, cpu


results = {}
for rnd in range(ROUNDS):
    order = [("single", singles), ("batch", batches), ("atomic", atomic_batches)]
    order = order[rnd % 3:] + order[:rnd % 3]
    for phase, expect in (("create", 201), ("replace", 200)):
        for kind, run in order:
            keys = [f"{kind.upper()}{rnd}-{i:05d}" for i in range(PARTNERS)]
            results.setdefault((kind, phase), []).append(measure(f"{kind}-{phase} round {rnd + 1}", run, keys, expect))

print()
for phase in ("create", "replace"):
    single = results[("single", phase)]
    ws, cs = statistics.mean(w for w, _ in single), statistics.mean(c for _, c in single)
    print(f"SUMMARY {phase}: {PARTNERS} partners by single PUTs {ws:.2f} s ({PARTNERS / ws:.0f}/s, "
          f"{1e6 * cs / PARTNERS:.0f} us server CPU each)")
    for kind in ("batch", "atomic"):
        runs = results[(kind, phase)]
        w, c = statistics.mean(w for w, _ in runs), statistics.mean(c for _, c in runs)
        name = "batches" if kind == "batch" else "atomic batches"
        print(f"SUMMARY {phase}: by {name} of {BATCH} {w:.2f} s ({PARTNERS / w:.0f}/s): "
              f"wall {w / ws:.2f}x single, server CPU {c / cs:.2f}x ({1e6 * c / PARTNERS:.0f} us each)")
