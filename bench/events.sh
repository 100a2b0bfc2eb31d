#!/usr/bin/env bash
# The event feed benchmark: seeds BENCH_OPPORTUNITIES (100000) opportunities with the bulk seed
# (which writes no events), then BENCH_EVENTS (100000) realistic `opportunity.created` events
# written by SQL in transactions of 1000 (data = the opportunity row as JSON, ~1 KB, like the
# API's), and measures:
#   1. publish_events() numbering all of them at once (psql \timing);
#   2. a consumer reading the whole feed with GET /api/v1/events?after=<last>&limit=1000
#      (Python urllib, one connection): wall time and events/s;
#   3. POST /api/v1/opportunities (wrk, scenario opp-post of bench/wrk/scenario.lua, each request
#      now also writing its event) BENCH_RUNS times, and once more while a consumer polls the
#      feed every 100 ms (publish_events() on every poll, competing for its advisory lock).
#
# Knobs (environment): BENCH_DATABASE_URL (default .../salesfunnel_bench_events; only a name
# containing "bench" is dropped), BENCH_OPPORTUNITIES (100000), BENCH_EVENTS (100000),
# BENCH_DURATION (15), BENCH_CONNECTIONS (32), BENCH_RUNS (3), BENCH_WARMUP (5),
# DATABASE_POOL_SIZE (32), BENCH_PORT (18730), SKIP_BUILD=1, SKIP_SEED=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_events}
OPPORTUNITIES=${BENCH_OPPORTUNITIES:-100000}
EVENTS=${BENCH_EVENTS:-100000}
DURATION=${BENCH_DURATION:-15}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-5}
POOL_SIZE=${DATABASE_POOL_SIZE:-32}
PORT=${BENCH_PORT:-18730}
BIN="$REPO/target/release/salesfunnel"
LUA="$BENCH_DIR/wrk/scenario.lua"
# The demo data set's fixed ids (src/seed/): partner 101 and the first Neuwagen stage.
DEMO_PARTNER=01930000-0000-7000-8000-000000000065
FIRST_STAGE=01930000-0000-7000-8000-0000000000c9
OPP_BODY='{"subject":"Bench %d","business_partner_id":"'$DEMO_PARTNER'","class_id":"NEUWAGEN","stage_id":"'$FIRST_STAGE'","target_value":"25000.00"}'

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh" wrk psql curl python3 cargo

if [[ ${SKIP_SEED:-0} != 1 ]]; then
    log "fresh database $DB_NAME, salesfunnel seed --opportunities $OPPORTUNITIES"
    psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" -c "CREATE DATABASE \"$DB_NAME\""
    DATABASE_URL="$DB_URL" RUST_LOG=warn "$BIN" seed --opportunities "$OPPORTUNITIES"
    log "$EVENTS opportunity.created events by SQL, $((EVENTS / 1000)) transactions of 1000"
    psql_db -c "DELETE FROM events"
    for ((k = 0; k < EVENTS / 1000; k++)); do
        echo "INSERT INTO events (id, type, subject_id, actor, data)
              SELECT gen_random_uuid(), 'opportunity.created', o.id, o.created_by,
                     jsonb_build_object('opportunity', to_jsonb(o) || jsonb_build_object(
                         'health', 'green', 'activity_counts', '{}'::jsonb, 'primary_quote_id', null))
              FROM opportunities o ORDER BY o.id OFFSET $((k * 1000 % OPPORTUNITIES)) LIMIT 1000;"
    done | psql_db
    psql_db -c "VACUUM ANALYZE events"
fi
echo "opportunities: $(psql_db -Atc 'SELECT count(*) FROM opportunities'), events: $(psql_db -Atc 'SELECT count(*) FROM events')," \
    "unpublished: $(psql_db -Atc 'SELECT count(*) FROM events WHERE seq IS NULL')," \
    "average data size: $(psql_db -Atc 'SELECT round(avg(pg_column_size(data))) FROM events') bytes (stored, compressed)"

log "publish_events() of the unpublished events at once"
psql_db -c '\timing on' -c 'SELECT publish_events() AS published'
# Statistics taken while every seq was NULL make the planner read `seq > $1 ORDER BY seq` through
# the (type, seq) index (80 ms a page instead of 16); autovacuum would catch up, the run does not wait.
psql_db -c 'ANALYZE events'

log "starting the server (pool $POOL_SIZE)"
DATABASE_URL="$DB_URL" BIND="127.0.0.1:$PORT" DATABASE_POOL_SIZE=$POOL_SIZE RUST_LOG=warn "$BIN" serve --no-demo &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
BASE="http://127.0.0.1:$PORT"
TOKEN=$("$BIN" token --role integration --sub bench-erp)
ADMIN=$("$BIN" token --role admin --sub bench)

log "a consumer reads the whole feed at limit=1000"
BASE=$BASE TOKEN=$TOKEN python3 - <<'PY'
import json, os, time, urllib.request
base, token = os.environ["BASE"], os.environ["TOKEN"]
after, count, size, pages, start = 0, 0, 0, 0, time.monotonic()
while True:
    req = urllib.request.Request(f"{base}/api/v1/events?after={after}&limit=1000",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        body = r.read()
    page = json.loads(body)
    pages += 1
    if not page["items"]:
        break
    seqs = [e["seq"] for e in page["items"]]
    assert seqs == sorted(seqs) and seqs[0] > after
    count, size, after = count + len(seqs), size + len(body), page["next_after"]
wall = time.monotonic() - start
print(f"RESULT feed events={count} pages={pages} wall_s={wall:.2f} events_per_s={count / wall:.0f} "
      f"MB={size / 1e6:.1f} ms_per_page={1000 * wall / pages:.1f}")
PY

run_wrk() {
    BENCH_SCENARIO=opp-post BENCH_TOKEN=$ADMIN BENCH_OPP_BODY=$OPP_BODY \
        wrk -t1 -c"$CONNECTIONS" -d"$1s" --timeout 10s --latency -s "$LUA" "$BASE" | grep '^RESULT'
}
log "POST /api/v1/opportunities: ${WARMUP}s warm-up, then $RUNS runs of ${DURATION}s at $CONNECTIONS connections"
run_wrk "$WARMUP" >/dev/null
for ((run = 1; run <= RUNS; run++)); do
    echo "opp-post run $run: $(run_wrk "$DURATION")"
done

log "POST /api/v1/opportunities while a consumer polls the feed every 100 ms"
# It starts at the end of the published feed (the POSTs above are not published yet: no poll since).
BASE=$BASE TOKEN=$TOKEN python3 - "$DURATION" "$(psql_db -Atc 'SELECT coalesce(max(seq), 0) FROM events')" <<'PY' &
import json, os, sys, time, urllib.request
base, token, end = os.environ["BASE"], os.environ["TOKEN"], time.monotonic() + float(sys.argv[1]) + 1
after = int(sys.argv[2])
req = lambda a: urllib.request.Request(f"{base}/api/v1/events?after={a}&limit=1000",
                                       headers={"Authorization": f"Bearer {token}"})
polls, seen = 0, 0
while time.monotonic() < end:
    t = time.monotonic()
    page = json.load(urllib.request.urlopen(req(after)))
    polls += 1
    seen += len(page["items"])
    after = page["next_after"]
    time.sleep(0.1)
print(f"RESULT poller polls={polls} events_seen={seen} (events seen before the wrk run ended)")
PY
POLLER=$!
sleep 1
echo "opp-post with poller: $(run_wrk "$DURATION")"
wait "$POLLER"
echo "published: $(psql_db -Atc 'SELECT count(*) FROM events WHERE seq IS NOT NULL'), unpublished: $(psql_db -Atc 'SELECT count(*) FROM events WHERE seq IS NULL')"
