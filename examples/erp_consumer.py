#!/usr/bin/env python3
"""A minimal ERP-side consumer of the salesfunnel event feed (Python 3 standard library only).

Polls GET /api/v1/events?after=<last seq>, handles each event, and keeps its position in a
cursor file, written after each page is handled, so a restart resumes where it stopped and
never skips an event. Handling is idempotent by event id: an event handled before (e.g. when
the process died between handling and saving the cursor) is recognised and skipped.

Environment:
  SALESFUNNEL_URL     base URL of the server (default http://127.0.0.1:8080)
  SALESFUNNEL_TOKEN   a bearer token with the integration (or admin) role, required;
                      e.g. `salesfunnel token --role integration --sub erp`
  CURSOR_FILE         where the position is kept (default ./erp_consumer.cursor.json)
  EVENT_TYPE          only this type, e.g. opportunity.won (default: all)
  POLL_SECONDS        pause when caught up (default 5)
  PAGE_SIZE           events per request, 1-1000 (default 100)

  python3 examples/erp_consumer.py           # follow the feed until interrupted
  python3 examples/erp_consumer.py --once    # read until caught up, then exit
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ.get("SALESFUNNEL_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("SALESFUNNEL_TOKEN")
CURSOR_FILE = os.environ.get("CURSOR_FILE", "erp_consumer.cursor.json")
EVENT_TYPE = os.environ.get("EVENT_TYPE")
POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "5"))
PAGE_SIZE = int(os.environ.get("PAGE_SIZE", "100"))
# Event ids remembered for idempotency; more than one page, since only the last page can repeat.
REMEMBERED_IDS = 2000


def load_cursor():
    try:
        with open(CURSOR_FILE, encoding="utf-8") as f:
            state = json.load(f)
        return state["after"], state.get("recent_ids", [])
    except FileNotFoundError:
        return 0, []


def save_cursor(after, recent_ids):
    # Write a new file and rename it over the old one: a crash leaves one or the other, whole.
    tmp = CURSOR_FILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"after": after, "recent_ids": recent_ids[-REMEMBERED_IDS:]}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, CURSOR_FILE)


def fetch(after):
    query = {"after": after, "limit": PAGE_SIZE}
    if EVENT_TYPE:
        query["type"] = EVENT_TYPE
    request = urllib.request.Request(
        f"{BASE}/api/v1/events?{urllib.parse.urlencode(query)}",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def handle(event):
    """The ERP's work. A real one records event["id"] in the same database transaction as its
    effect (an order, a customer), which makes handling exactly-once."""
    data = event["data"]
    line = f'{event["seq"]:>8} {event["occurred_at"]} {event["type"]:<28} {event["subject_id"]} by {event["actor"]}'
    if event["type"] == "opportunity.won":
        opportunity, partner = data["opportunity"], data["business_partner"]
        quote = data.get("primary_quote") or {}
        line += (
            f'\n         order for {partner["number"]} {partner["name"]}: {opportunity["number"]} '
            f'{opportunity["target_value"]} {opportunity["currency"]}, {len(data["lines"])} line(s), '
            f'primary quote {quote.get("number", "-")} gross {quote.get("gross_total", "-")}'
        )
    elif "previous" in data:
        line += f"\n         previous: {json.dumps(data['previous'], ensure_ascii=False)}"
    print(line, flush=True)


def main():
    if not TOKEN:
        sys.exit("set SALESFUNNEL_TOKEN to a token with the integration role")
    once = "--once" in sys.argv[1:]
    after, recent_ids = load_cursor()
    seen = set(recent_ids)
    while True:
        try:
            page = fetch(after)
        except (urllib.error.URLError, TimeoutError) as error:
            # 5xx, 503 while the database restarts, network trouble: wait and retry from the
            # same position; nothing is lost.
            print(f"poll failed ({error}); retrying", file=sys.stderr, flush=True)
            time.sleep(POLL_SECONDS)
            continue
        for event in page["items"]:
            if event["id"] not in seen:
                handle(event)
                seen.add(event["id"])
                recent_ids.append(event["id"])
        if page["items"]:
            # After the page is handled: a crash before this line repeats the page, whose events
            # are then recognised by id.
            after = page["next_after"]
            save_cursor(after, recent_ids)
        if len(recent_ids) > REMEMBERED_IDS:
            recent_ids = recent_ids[-REMEMBERED_IDS:]
            seen = set(recent_ids)
        if not page["items"]:
            if once:
                return
            time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
