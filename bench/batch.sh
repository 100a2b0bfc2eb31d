#!/usr/bin/env bash
# The ERP-sync benchmark of POST /batch: an ERP pushes BENCH_PARTNERS (1000) business partners
# by their external ids, as that many single `PUT /business-partners/by-external-id/{key}`, as
# batches of 100 of the same PUTs, and as atomic batches of 100 (one transaction each), one
# client on one keep-alive connection (as a sync job runs). Each round does all three on new
# keys (every PUT creates) and then again on the same keys (every PUT replaces with an equal
# body: 200, version kept), rotating which goes first. Prints wall time, partners/s, the
# server's CPU per partner and the ratios to the single PUTs.
#
# Knobs (environment): BENCH_DATABASE_URL (default .../salesfunnel_bench_batch; only a name
# containing "bench" is dropped), BENCH_PARTNERS (1000), BENCH_ROUNDS (3), BENCH_BATCH_SIZE (100),
# DATABASE_POOL_SIZE (16), BENCH_PORT (18750), SKIP_BUILD=1.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_batch}
PORT=${BENCH_PORT:-18750}
BIN="$REPO/target/release/salesfunnel"

# shellcheck source=bench/common.sh
source "$BENCH_DIR/common.sh" psql curl python3 cargo

log "fresh database $DB_NAME"
psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" -c "CREATE DATABASE \"$DB_NAME\""
log "starting the server (pool ${DATABASE_POOL_SIZE:-16})"
DATABASE_URL="$DB_URL" BIND="127.0.0.1:$PORT" DATABASE_POOL_SIZE=${DATABASE_POOL_SIZE:-16} RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn \
    "$BIN" serve --no-demo &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done

TOKEN=$("$BIN" token --role integration --sub bench-erp) PORT=$PORT SERVER_PID=$SERVER_PID \
    python3 "$BENCH_DIR/batch.py"
