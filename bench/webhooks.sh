#!/usr/bin/env bash
# Webhook delivery throughput: events per second reaching one webhook, with 1 and with 3
# replicas, for each case of BENCH_CASES ("0:1 50:1 50:100", receiver delay in ms : the
# webhook's batch_size): a receiver that answers at once, one that answers after 50 ms, and the
# same with batched payloads of 100. For each case a new webhook subscribes to everything,
# BENCH_EVENTS (3000; BENCH_SLOW_EVENTS, 300, for the slow receiver without batches) events are
# written by SQL in one transaction, and the receiver (bench/webhook_receiver.py) records when
# each arrives. Prints events/s between the first and the last arrival, the end-to-end time
# from the commit to the last arrival, and whether every event arrived once and in order.
#
# Knobs (environment): BENCH_DATABASE_URL (default .../salesfunnel_bench_webhooks; only a name
# containing "bench" is dropped), BENCH_EVENTS (3000), BENCH_SLOW_EVENTS (300),
# BENCH_REPLICAS ("1 3"), BENCH_CASES, BENCH_BIN (the binary; default target/release),
# BENCH_PORT (18770; replicas use BENCH_PORT.., receivers BENCH_PORT+10..), SKIP_BUILD=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_webhooks}
EVENTS=${BENCH_EVENTS:-3000}
SLOW_EVENTS=${BENCH_SLOW_EVENTS:-300}
PORT=${BENCH_PORT:-18770}
BIN=${BENCH_BIN:-$REPO/target/release/salesfunnel}

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh" psql curl python3 cargo

log "fresh database $DB_NAME"
psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" -c "CREATE DATABASE \"$DB_NAME\""
DATABASE_URL="$DB_URL" RUST_LOG=warn "$BIN" migrate >/dev/null

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
receiver_port() { echo $((PORT + 10 + $1)); }
for delay in 0 50; do
    python3 "$BENCH_DIR/webhook_receiver.py" "$(receiver_port "$delay")" "$delay" &
    PIDS+=($!)
done
ADMIN=$("$BIN" token --role admin --sub bench)

for replicas in ${BENCH_REPLICAS:-1 3}; do
    log "$replicas replica(s)"
    SERVERS=()
    for ((r = 0; r < replicas; r++)); do
        DATABASE_URL="$DB_URL" BIND="127.0.0.1:$((PORT + r))" DATABASE_POOL_SIZE=8 RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn \
            WEBHOOK_ALLOW_PRIVATE_TARGETS=true "$BIN" serve --no-demo &
        SERVERS+=($!)
        PIDS+=($!)
    done
    for ((r = 0; r < replicas; r++)); do
        for _ in $(seq 150); do curl -sf "http://127.0.0.1:$((PORT + r))/readyz" >/dev/null && break; sleep 0.2; done
    done
    for case in ${BENCH_CASES:-0:1 50:1 50:100}; do
        delay=${case%:*} batch=${case#*:}
        n=$EVENTS
        ((delay == 0 || batch > 1)) || n=$SLOW_EVENTS
        path="/r$replicas-d$delay-b$batch"
        extra=""   # (builds before batch_size know no such field)
        ((batch == 1)) || extra=", \"batch_size\": $batch"
        receiver="http://127.0.0.1:$(receiver_port "$delay")"
        webhook=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/webhooks" -H "Authorization: Bearer $ADMIN" \
            -H 'Content-Type: application/json' -d "{\"url\": \"$receiver$path\", \"event_types\": [\"*\"]$extra}" \
            | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
        start=$(python3 -c 'import time; print(time.monotonic())')
        psql_db -c "INSERT INTO events (id, type, subject_id, actor, data)
                    SELECT gen_random_uuid(), 'opportunity.updated', gen_random_uuid()::text, 'bench',
                           jsonb_build_object('n', g, 'padding', repeat('x', 600))
                    FROM generate_series(1, $n) g"
        python3 - "$receiver" "$path" "$n" "$start" "$replicas" "$delay" "$batch" <<'PY'
import json, sys, time, urllib.parse, urllib.request
receiver, path, n, start, replicas, delay, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
deadline = time.monotonic() + 60 + n * (int(delay) / 1000) * 3
while True:
    stats = json.load(urllib.request.urlopen(f"{receiver}/stats?path={urllib.parse.quote(path)}"))
    if stats["count"] >= n or time.monotonic() > deadline:
        break
    time.sleep(0.2)
span = (stats["last"] - stats["first"]) if stats["count"] > 1 else float("nan")
rate = (stats["count"] - 1) / span if stats["count"] > 1 else 0
print(f"RESULT replicas={replicas} receiver_delay_ms={delay} batch_size={batch} events={n} received={stats['count']} "
      f"distinct={stats['distinct']} in_order={stats['in_order']} events_per_s={rate:.0f} "
      f"first_to_last_s={span:.2f} commit_to_last_s={stats['last'] - start:.2f}", flush=True)
PY
        # Later cases measure their own webhook only.
        curl -sf -o /dev/null -X DELETE "http://127.0.0.1:$PORT/api/v1/webhooks/$webhook" -H "Authorization: Bearer $ADMIN"
    done
    for pid in "${SERVERS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
done
