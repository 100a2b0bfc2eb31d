#!/usr/bin/env python3
"""An ERP-side mirror of salesfunnel's business partners and opportunities (with their lines)
in SQLite, kept from the event feed alone, printing what changed. Python 3 standard library
only.

The first run loads the mirror: it reads the feed's end first, then the lists
(/business-partners, /opportunities and each opportunity's /lines), then follows the feed from
that end. Every later event replaces the resource it names (`*.deleted` removes it; `lines`
replace the opportunity's lines). Each page of events is applied in one SQLite transaction
together with the feed position, so a crash never loses or repeats an event. Events of other
resources (activities, quotes, configuration) only move the position here; a real ERP
mirrors those it needs the same way.

Environment:
  SALESFUNNEL_URL     base URL of the server (default http://127.0.0.1:8080)
  SALESFUNNEL_TOKEN   a bearer token with the integration (or admin) role, required;
                      e.g. `salesfunnel token --role integration --sub erp`
  POLL_SECONDS        pause when caught up (default 5)
  PAGE_SIZE           events per request, 1-1000 (default 500)

  python3 examples/erp_consumer.py                 # follow the feed until interrupted
  python3 examples/erp_consumer.py --once          # catch up, then exit
  python3 examples/erp_consumer.py --db mirror.sqlite   # default ./erp_mirror.sqlite
"""

import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ.get("SALESFUNNEL_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("SALESFUNNEL_TOKEN")
POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "5"))
PAGE_SIZE = int(os.environ.get("PAGE_SIZE", "500"))

# The mirrored resources: event prefix -> (table, list path, the field that names a row).
MIRRORED = {
    "business_partner": ("business_partners", "/api/v1/business-partners", "number"),
    "opportunity": ("opportunities", "/api/v1/opportunities", "number"),
}
# Computed from the clock when read, so not part of a stored state.
READ_TIME_FIELDS = {"health"}


def get(path, **query):
    url = f"{BASE}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        problem = e.read().decode("utf-8", "replace")
        raise SystemExit(f"GET {url}: {e.code} {problem}") from None


def pages(path):
    """Every item of a keyset-paginated list."""
    cursor = None
    while True:
        query = {"limit": 200}
        if cursor:
            query["cursor"] = cursor
        page = get(path, **query)
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def open_mirror(path):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for table, _, _ in MIRRORED.values():
        lines = ", lines TEXT" if table == "opportunities" else ""
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, external_id TEXT, data TEXT NOT NULL{lines})")
    db.execute("CREATE TABLE IF NOT EXISTS feed (id INTEGER PRIMARY KEY CHECK (id = 1), after INTEGER NOT NULL)")
    return db


def stored(resource):
    return {k: v for k, v in resource.items() if k not in READ_TIME_FIELDS}


def describe(kind, resource):
    label = resource.get(MIRRORED[kind][2]) or resource["id"]
    name = resource.get("name") or resource.get("subject") or ""
    return f"{kind} {label} {name}".rstrip()


def changes(old, new):
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {json.dumps(old.get(k), ensure_ascii=False)} -> {json.dumps(new.get(k), ensure_ascii=False)}"
                     for k in keys if old.get(k) != new.get(k) and k not in ("updated_at", "version"))


def upsert(db, kind, resource, lines=None, quiet=False):
    table = MIRRORED[kind][0]
    resource = stored(resource)
    row = db.execute(f"SELECT data FROM {table} WHERE id = ?", (resource["id"],)).fetchone()
    db.execute(
        f"INSERT INTO {table} (id, external_id, data) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, data = excluded.data",
        (resource["id"], resource.get("external_id"), json.dumps(resource, sort_keys=True)),
    )
    if kind == "opportunity":
        if lines is not None:
            db.execute("UPDATE opportunities SET lines = ? WHERE id = ?", (json.dumps(lines, sort_keys=True), resource["id"]))
        elif row is None:
            db.execute("UPDATE opportunities SET lines = '[]' WHERE id = ?", (resource["id"],))
    if quiet:
        return
    if row is None:
        print(f"+ {describe(kind, resource)}")
    else:
        diff = changes(json.loads(row[0]), resource)
        if diff or lines is not None:
            print(f"~ {describe(kind, resource)}: {diff or 'lines'}")


def initial_load(db):
    """The feed's end first, then the lists: what changes meanwhile comes again from the feed."""
    after = 0
    while True:
        page = get("/api/v1/events", after=after, limit=1000)
        if not page["items"]:
            break
        after = page["next_after"]
    db.execute("BEGIN")
    for kind, (_, path, _) in MIRRORED.items():
        for resource in pages(path):
            lines = list(pages(f"{path}/{resource['id']}/lines")) if kind == "opportunity" else None
            upsert(db, kind, resource, lines, quiet=True)
    db.execute("INSERT INTO feed (id, after) VALUES (1, ?)", (after,))
    db.execute("COMMIT")
    counts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table, _, _ in MIRRORED.values()}
    print(f"loaded {counts}; following the feed after seq {after}")


def apply(db, event):
    kind, _, action = event["type"].partition(".")
    if kind not in MIRRORED:
        return
    resource = event["data"][kind]
    if action == "deleted":
        db.execute(f"DELETE FROM {MIRRORED[kind][0]} WHERE id = ?", (event["subject_id"],))
        print(f"- {describe(kind, resource)}")
    else:
        upsert(db, kind, resource, event["data"].get("lines"))


def follow(db, once):
    while True:
        after = db.execute("SELECT after FROM feed").fetchone()[0]
        try:
            page = get("/api/v1/events", after=after, limit=PAGE_SIZE)
        except (urllib.error.URLError, TimeoutError) as e:
            print(f"feed unavailable ({e}); retrying in {POLL_SECONDS} s", file=sys.stderr)
            time.sleep(POLL_SECONDS)
            continue
        if page["items"]:
            db.execute("BEGIN")
            for event in page["items"]:
                apply(db, event)
            db.execute("UPDATE feed SET after = ?", (page["next_after"],))
            db.execute("COMMIT")
            continue
        if once:
            return
        time.sleep(POLL_SECONDS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="erp_mirror.sqlite", help="the SQLite mirror (default ./erp_mirror.sqlite)")
    parser.add_argument("--once", action="store_true", help="catch up with the feed, then exit")
    args = parser.parse_args()
    if not TOKEN:
        sys.exit("SALESFUNNEL_TOKEN is not set (salesfunnel token --role integration --sub erp)")
    db = open_mirror(args.db)
    if db.execute("SELECT count(*) FROM feed").fetchone()[0] == 0:
        initial_load(db)
    try:
        follow(db, args.once)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
