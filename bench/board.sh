#!/usr/bin/env bash
# Board benchmark: builds the release binary, seeds BENCH_OPPORTUNITIES opportunities (with
# lines, activities and stage history) into a benchmark database, starts the server on it and
# runs bench/board.py: the board of the funnel with the most opportunities BENCH_CALLS times (one
# call at a time; all, one owner, health=red, 100 per stage) and a column continued through
# view=card, then EXPLAIN ANALYZE of the board's two statements.
#
#   bench/board.sh
#
# Knobs (environment): BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/
# salesfunnel_bench_board), BENCH_OPPORTUNITIES (1000000), BENCH_CALLS (50), BENCH_PORT
# (18731), SKIP_SEED=1 (reuse the database), SKIP_BUILD=1 (reuse the binary), SKIP_EXPLAIN=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_board}
OPPORTUNITIES=${BENCH_OPPORTUNITIES:-1000000}
CALLS=${BENCH_CALLS:-50}
PORT=${BENCH_PORT:-18731}
BIN=$REPO/target/release/salesfunnel
export JWT_SECRET=${JWT_SECRET:-board-benchmark-secret-0123456789abcdef}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    (cd "$REPO" && cargo build --release --quiet)
fi
if [[ ${SKIP_SEED:-0} != 1 ]]; then
    admin_url=${DB_URL%/*}/postgres
    name=${DB_URL##*/}
    psql -X -q -d "$admin_url" -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\""
    started=$(date +%s)
    DATABASE_URL=$DB_URL "$BIN" seed --opportunities "$OPPORTUNITIES"
    echo "seeded $OPPORTUNITIES opportunities in $(($(date +%s) - started)) s"
fi

DATABASE_URL=$DB_URL BIND=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve --no-demo &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.2
done
token=$("$BIN" token --role admin --sub benchmark)
owner=$(psql -X -At -d "$DB_URL" -c \
    "SELECT owner_id FROM opportunities WHERE status = 'open' GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1")
funnel=$(psql -X -At -d "$DB_URL" -c \
    "SELECT funnel_id FROM opportunities GROUP BY funnel_id ORDER BY count(*) DESC LIMIT 1")
echo "opportunities: $(psql -X -At -d "$DB_URL" -c 'SELECT count(*) FROM opportunities'), funnel $funnel, owner $owner"

explain=()
[[ ${SKIP_EXPLAIN:-0} == 1 ]] || explain=(--explain "$DB_URL")
python3 "$REPO/bench/board.py" "http://127.0.0.1:$PORT" "$token" "$funnel" "$owner" --calls "$CALLS" "${explain[@]}"
