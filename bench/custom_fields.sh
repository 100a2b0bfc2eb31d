#!/usr/bin/env bash
# The custom field benchmark (issue 17): BENCH_OPPORTUNITIES (1000000) bulk opportunities, half
# of them with three custom values (the demo fields leasing_months and trade_in_value and a
# number field annual_mileage this script defines), then
#   cf-list-wide    GET /opportunities filtered by a custom number range that ~30 % match
#   cf-list-narrow  GET /opportunities filtered by a money range that ~0.5 % match
#   cf-post         POST /opportunities with three custom values
# with wrk (-t1, BENCH_CONNECTIONS), the server's CPU time per request, and the EXPLAIN ANALYZE
# of both list statements as the server runs them (auto_explain on a second server, read back
# from the PostgreSQL log).
#
# Knobs (environment): BENCH_DATABASE_URL (default .../salesfunnel_bench_custom; only a name
# containing "bench" is dropped), BENCH_OPPORTUNITIES (1000000), BENCH_DURATION (15),
# BENCH_CONNECTIONS (16), BENCH_PORT (18760), DATABASE_POOL_SIZE (16), SKIP_SEED=1 (reuse the
# database), SKIP_BUILD=1, BENCH_BIN (target/release/salesfunnel), BENCH_SEED_BIN (BENCH_BIN),
# BENCH_SEED_ONLY=1, PG_LOG (/var/log/postgresql/postgresql-15-main.log).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_custom}
OPPORTUNITIES=${BENCH_OPPORTUNITIES:-1000000}
DURATION=${BENCH_DURATION:-15}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
PORT=${BENCH_PORT:-18760}
POOL=${DATABASE_POOL_SIZE:-16}
PG_LOG=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
BIN=${BENCH_BIN:-$REPO/target/release/salesfunnel}
# The binary that seeds (the bulk seeder): BIN unless given.
SEED_BIN=${BENCH_SEED_BIN:-$BIN}
LUA="$BENCH_DIR/wrk/scenario.lua"

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh" psql curl wrk cargo

# The demo's fixed ids (src/seed/): partner 101, stage Anfrage.
DEMO_PARTNER=01930000-0000-7000-8000-000000000065
ANFRAGE=01930000-0000-7000-8000-0000000000c9

if [[ ${SKIP_SEED:-0} != 1 ]]; then
    log "fresh database $DB_NAME"
    psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" -c "CREATE DATABASE \"$DB_NAME\""
    log "salesfunnel seed --opportunities $OPPORTUNITIES"
    /usr/bin/time -f 'seed: %e s wall' env DATABASE_URL="$DB_URL" RUST_LOG=warn "$SEED_BIN" seed --opportunities "$OPPORTUNITIES"
    log "custom values on every second opportunity (the triggers fill custom_values)"
    started=$SECONDS
    psql_db <<'SQL'
INSERT INTO custom_fields (id, resource, key, label, type)
VALUES ('01930000-0000-7000-8000-0000000002c1', 'opportunity', 'annual_mileage', 'Jahresfahrleistung (km)', 'number')
ON CONFLICT DO NOTHING;
UPDATE opportunities o
SET custom = jsonb_build_object(
        'leasing_months', 12 * (1 + h % 5),
        'trade_in_value', to_char(1000 + (h % 20000), 'FM99990') || '.00',
        'annual_mileage', 5000 * (1 + h % 8))
FROM (SELECT id, abs(hashtext(id::text)) AS h FROM opportunities) x
WHERE x.id = o.id AND x.h % 2 = 0 AND o.custom = '{}';
VACUUM ANALYZE opportunities;
VACUUM ANALYZE custom_values;
SQL
    echo "custom values: $((SECONDS - started)) s"
fi
# BENCH_SEED_ONLY=1: seed, then stop (measure later with SKIP_SEED=1).
[[ ${BENCH_SEED_ONLY:-0} == 1 ]] && exit 0
psql_db -Atc "SELECT 'opportunities: ' || count(*) || ', with custom values: ' || count(*) FILTER (WHERE custom <> '{}')
    || ', custom_values rows: ' || (SELECT count(*) FROM custom_values) FROM opportunities"

WIDE="/api/v1/opportunities?custom.leasing_months_from=24&custom.leasing_months_to=48&limit=50"
NARROW="/api/v1/opportunities?custom.trade_in_value_from=12000&custom.trade_in_value_to=12099.99&limit=50"
BODY='{"subject":"Bench %d","business_partner_id":"'$DEMO_PARTNER'","class_id":"NEUWAGEN","stage_id":"'$ANFRAGE'","target_value":"25000.00","custom":{"leasing_months":36,"trade_in_value":"12500.00","annual_mileage":20000}}'

start_server() {  # start_server PORT → SERVER_PID
    DATABASE_URL="$DB_URL" BIND="127.0.0.1:$1" DATABASE_POOL_SIZE=$POOL RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn \
        "$BIN" serve --no-demo &
    SERVER_PID=$!
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.2; done
    echo "the server did not start" >&2; exit 1
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap stop_server EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

TOKEN=$("$BIN" token --role admin --sub bench-admin)
start_server "$PORT"
for scenario in cf-list-wide cf-list-narrow cf-post; do
    case $scenario in
        cf-list-wide) export BENCH_SCENARIO=opp-list BENCH_LIST_PATH=$WIDE ;;
        cf-list-narrow) export BENCH_SCENARIO=opp-list BENCH_LIST_PATH=$NARROW ;;
        cf-post) export BENCH_SCENARIO=opp-post BENCH_OPP_BODY=$BODY ;;
    esac
    export BENCH_TOKEN=$TOKEN
    wrk -t1 -c"$CONNECTIONS" -d3s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null
    before=$(ticks "$SERVER_PID")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$LUA" "http://127.0.0.1:$PORT")
    after=$(ticks "$SERVER_PID")
    result=$(grep '^RESULT' <<<"$out")
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$result")
    cpu_us=$(( (after - before) * 1000000 / $(getconf CLK_TCK) / (requests > 0 ? requests : 1) ))
    log "$scenario: $result server_cpu_us_per_request=$cpu_us"
done
count=$(curl -s "http://127.0.0.1:$PORT$WIDE" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
echo "wide page: $count items"
stop_server

# EXPLAIN ANALYZE of the list statements as the server sends them: a second server whose
# sessions load auto_explain, one request each, the plans read back from the PostgreSQL log.
if [[ -r $PG_LOG ]]; then
    psql_db -c "ALTER DATABASE \"$DB_NAME\" SET session_preload_libraries = 'auto_explain'" \
        -c "ALTER DATABASE \"$DB_NAME\" SET auto_explain.log_min_duration = 0" \
        -c "ALTER DATABASE \"$DB_NAME\" SET auto_explain.log_analyze = on" \
        -c "ALTER DATABASE \"$DB_NAME\" SET auto_explain.log_buffers = on"
    start_server $((PORT + 1))
    for path in "$WIDE" "$NARROW"; do
        curl -s "http://127.0.0.1:$((PORT + 1))$path" -H "Authorization: Bearer $TOKEN" >/dev/null
        offset=$(stat -c %s "$PG_LOG")
        curl -s "http://127.0.0.1:$((PORT + 1))$path" -H "Authorization: Bearer $TOKEN" >/dev/null
        sleep 0.5
        log "EXPLAIN ANALYZE of $path (the list statement, from auto_explain)"
        tail -c +"$((offset + 1))" "$PG_LOG" | awk '
            /^[0-9][0-9][0-9][0-9]-/ { if (keep) print buf; buf = ""; keep = 0; inplan = ($0 ~ /plan:/);
                                       if (inplan) buf = $0; next }
            inplan { buf = buf "\n" $0; if ($0 ~ /custom_values/) keep = 1 }
            END { if (keep) print buf }'
    done
    stop_server
    for setting in session_preload_libraries auto_explain.log_min_duration auto_explain.log_analyze auto_explain.log_buffers; do
        psql_db -c "ALTER DATABASE \"$DB_NAME\" RESET $setting"
    done
else
    echo "cannot read $PG_LOG: no EXPLAIN ANALYZE (set PG_LOG)"
fi
