#!/usr/bin/env bash
# Benchmark harness for salesfunnel: builds the release binary, seeds a fresh benchmark
# database, runs wrk against GET by id, a filtered list page and POST, records the server's
# CPU time per request and peak RSS, runs pgbench with the same SQL, and prints a summary.
#
#   bench/run.sh                    the main benchmark (scenarios a, b, c + pgbench)
#   bench/run.sh --compare-async    ... plus the access-path comparison: scenario (a) against
#                                   the server (pool 32 and 8) and the diesel-async + deadpool
#                                   probe (pool 32 and 8), interleaved run by run
#   bench/run.sh --compare-only     only the access-path comparison
#   bench/run.sh --compare-rate-limit  only the rate limiter's cost: scenario (a) against two
#                                   servers, RATE_LIMIT_PER_MINUTE=0 (off) and a limit too high to
#                                   be reached (on), interleaved run by run
#   bench/run.sh --opportunities    the opportunity benchmark instead of (a, b, c): seeds
#                                   BENCH_OPPORTUNITIES (1000000) opportunities and measures GET by
#                                   id, a rep's open list, health=red of one funnel, POST and a
#                                   stage move, then prints EXPLAIN ANALYZE of the list queries
#                                   and runs the write anchor (pgbench: the least SQL of a create
#                                   and a stage move) with the scenarios' ratios to it
#
# Knobs (environment): BENCH_DATABASE_URL, BENCH_DURATION (15), BENCH_CONNECTIONS (32),
# BENCH_RUNS (3), BENCH_WARMUP (5), BENCH_PARTNERS (100000), BENCH_ID_COUNT (1000),
# DATABASE_POOL_SIZE (32), COMPARE_SYNC_POOLS ("32 8"), COMPARE_ASYNC_POOLS ("32 8"; an entry
# POOL:bare runs the probe without metrics and access log),
# BENCH_PORT (18710; the servers use BENCH_PORT..BENCH_PORT+4), BENCH_WRK_TIMEOUT (10s),
# SKIP_SEED=1 (reuse the database), SKIP_BUILD=1 (reuse the binaries), SKIP_PGBENCH=1,
# BENCH_REV=<commit> (benchmark a committed revision instead of the work tree),
# BENCH_WAIT_IDLE=<seconds> (wait for the machine to be idle before measuring; default 0),
# BENCH_DROP_DB=1 (drop the benchmark database at the end; by default it is kept for SKIP_SEED),
# BENCH_SCENARIOS (with --opportunities: a subset of "opp-get opp-list opp-red opp-post opp-stage"),
# BENCH_OPPORTUNITIES (1000000; with --opportunities, whose default database is
# salesfunnel_bench_opportunities).
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")

usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

RUN_MAIN=1
RUN_COMPARE=0
RUN_RATE=0
OPPORTUNITY_MODE=0
for arg in "$@"; do
    case "$arg" in
        --opportunities) OPPORTUNITY_MODE=1 ;;
        --compare-async) RUN_COMPARE=1 ;;
        --compare-only) RUN_COMPARE=1; RUN_MAIN=0 ;;
        --compare-rate-limit) RUN_RATE=1; RUN_MAIN=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

if ((OPPORTUNITY_MODE)); then
    DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench_opportunities}
else
    DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/salesfunnel_bench}
fi
OPPORTUNITIES=${BENCH_OPPORTUNITIES:-1000000}
DURATION=${BENCH_DURATION:-15}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-5}
PARTNERS=${BENCH_PARTNERS:-100000}
ID_COUNT=${BENCH_ID_COUNT:-1000}
POOL_SIZE=${DATABASE_POOL_SIZE:-32}
SYNC_POOLS=${COMPARE_SYNC_POOLS-32 8}
ASYNC_POOLS=${COMPARE_ASYNC_POOLS-32 8}
PORT=${BENCH_PORT:-18710}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-10s}
SKIP_SEED=${SKIP_SEED:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_PGBENCH=${SKIP_PGBENCH:-0}
WAIT_IDLE=${BENCH_WAIT_IDLE:-0}
DROP_DB=${BENCH_DROP_DB:-0}

# The demo data set's fixed ids (src/seed/): rep Anna, funnel Neuwagen, its first three (open,
# lines not required) stages, partner 101.
REP_ID=01930000-0000-7000-8000-000000000003
NEUWAGEN_ID=01930000-0000-7000-8000-00000000012d
OPEN_STAGES=01930000-0000-7000-8000-0000000000c9,01930000-0000-7000-8000-0000000000ca,01930000-0000-7000-8000-0000000000cb
DEMO_PARTNER=01930000-0000-7000-8000-000000000065
if ((OPPORTUNITY_MODE)); then
    SCENARIOS=${BENCH_SCENARIOS:-"opp-get opp-list opp-red opp-post opp-stage"}
    LIST_PATH="/api/v1/opportunities?owner_id=${REP_ID}&status=open&sort=-updated_at&limit=50"
    RED_PATH="/api/v1/opportunities?funnel_id=${NEUWAGEN_ID}&health=red&limit=50"
    OPP_BODY='{"subject":"Bench %d","business_partner_id":"'$DEMO_PARTNER'","class_id":"NEUWAGEN","stage_id":"'${OPEN_STAGES%%,*}'","target_value":"25000.00"}'
else
    SCENARIOS="get list post"
    LIST_PATH="/api/v1/business-partners?owner_id=${REP_ID}&kind=customer&limit=50"
fi

REV=${BENCH_REV:-}
if [[ -n $REV ]]; then
    # A committed revision, exported with git archive and built in its own target directory,
    # so that uncommitted edits in the work tree neither break nor blur the benchmark.
    COMMIT=$(git -C "$REPO" rev-parse --verify --quiet "$REV^{commit}") \
        || { echo "BENCH_REV: '$REV' is not a commit" >&2; exit 2; }
    REV_TARGET="$REPO/target/bench-rev"
    BIN="$REV_TARGET/release/salesfunnel"
else
    BIN="$REPO/target/release/salesfunnel"
fi
PROBE_DIR="$BENCH_DIR/async-probe"
PROBE_BIN="$PROBE_DIR/target/release/async-probe"
LUA="$BENCH_DIR/wrk/scenario.lua"

for n in DURATION CONNECTIONS RUNS WARMUP PARTNERS ID_COUNT POOL_SIZE PORT WAIT_IDLE OPPORTUNITIES; do
    [[ ${!n} =~ ^[0-9]+$ ]] || { echo "$n must be a whole number, not '${!n}'" >&2; exit 2; }
done

# ---- the database URL: loopback only, and only a database made for benchmarks is dropped ----
if [[ ! $DB_URL =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost)(:[0-9]+)?/([A-Za-z0-9_]+)$ ]]; then
    echo "BENCH_DATABASE_URL must look like postgres://user@127.0.0.1:5432/name (loopback only," \
        "no query string): '$DB_URL'" >&2
    exit 2
fi
DB_NAME=${BASH_REMATCH[5]}
ADMIN_URL="${DB_URL%/*}/postgres"
if [[ $DB_NAME != *bench* && ${BENCH_ALLOW_DROP:-0} != 1 ]]; then
    echo "refusing to drop and recreate '$DB_NAME': its name does not contain 'bench'" \
        "(set BENCH_ALLOW_DROP=1 to insist)" >&2
    exit 2
fi

for tool in wrk psql pgbench curl cargo timeout; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done

# ---- raw output goes to bench/results/<timestamp>.txt as well ----
mkdir -p "$BENCH_DIR/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULT_FILE="$BENCH_DIR/results/$STAMP.txt"
exec > >(tee -a "$RESULT_FILE") 2>&1

WORK=$(mktemp -d /tmp/salesfunnel-bench.XXXXXX)
SUMMARY="$WORK/summary.tsv"
PGBENCH_SUMMARY="$WORK/pgbench.txt"
: >"$SUMMARY"
: >"$PGBENCH_SUMMARY"
SERVER_PIDS=()
FAILED=0

stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
    if [[ $DROP_DB == 1 ]]; then
        psql "$ADMIN_URL" -X -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" \
            && echo "dropped the database $DB_NAME"
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '\n=== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

psql_db() { psql "$DB_URL" -X -v ON_ERROR_STOP=1 -q "$@"; }

CLK_TCK=$(getconf CLK_TCK)

# utime + stime of one process (all its threads), in clock ticks.
proc_cpu_ticks() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $(( ${12} + ${13} ))
}

# utime + stime of every PostgreSQL process (postmaster and backends), in clock ticks, with the
# children's time the postmaster has reaped (cutime + cstime): backends that ended meanwhile, as
# pgbench's do when it disconnects, still count.
pg_cpu_ticks() {
    local f line rest total=0
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        [[ $line == *" (postgres) "* ]] || continue
        rest=${line##*) }
        # shellcheck disable=SC2086
        set -- $rest
        total=$(( total + ${12} + ${13} + ${14} + ${15} ))
    done
    echo "$total"
}

# "busy idle" jiffies of the whole machine.
machine_ticks() {
    local user nice system idle iowait irq softirq steal rest
    read -r _ user nice system idle iowait irq softirq steal rest </proc/stat
    echo "$(( user + nice + system + irq + softirq + steal )) $(( idle + iowait ))"
}

# CPU of this shell's waited-for children (wrk, through timeout), in clock ticks.
children_cpu_ticks() {
    local line rest
    read -r line <"/proc/$$/stat"
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $(( ${14} + ${15} ))
}

# Warns when something else keeps the machine busy (figures would be distorted); with
# BENCH_WAIT_IDLE=<seconds>, first waits up to that long for it to become idle.
quiet_check() {
    local m0 m1 b0 i0 b1 i1 busy deadline=$((SECONDS + WAIT_IDLE))
    while :; do
        m0=$(machine_ticks); sleep 3; m1=$(machine_ticks)
        read -r b0 i0 <<<"$m0"; read -r b1 i1 <<<"$m1"
        busy=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN {printf "%.0f", (b + i) ? 100 * b / (b + i) : 0}')
        ((busy > 10 && SECONDS < deadline)) || break
    done
    echo "machine busy before measuring: ${busy}% (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    if ((busy > 10)); then
        echo "WARNING: the machine is not idle; the busiest processes:"
        ps -eo pid,pcpu,etime,comm --sort=-pcpu | head -n 6
    fi
}

# Fails unless PostgreSQL has room for NEEDED more connections (pools that cannot open their
# connections answer 503s, which would be counted as the access path's fault).
check_connections() {
    local needed=$1 free
    free=$(psql "$ADMIN_URL" -X -Atc "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
    echo "PostgreSQL connections free: $free, the servers need up to $needed"
    if ((needed + 5 > free)); then
        echo "not enough free PostgreSQL connections: stop other clients, raise max_connections," \
            "or use smaller pools (DATABASE_POOL_SIZE, COMPARE_SYNC_POOLS, COMPARE_ASYNC_POOLS)" >&2
        exit 1
    fi
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# start_server NAME PORT POOL BINARY [ARGS...]: starts in the background, waits for /readyz,
# sets STARTED_PID.
start_server() {
    local name=$1 port=$2 pool=$3 bin=$4
    shift 4
    port_free "$port" || { echo "port $port is in use; set BENCH_PORT" >&2; exit 1; }
    # One token makes all the load: the rate limit is off unless a caller sets it.
    env DATABASE_URL="$DB_URL" JWT_SECRET="$JWT_SECRET" BIND="127.0.0.1:$port" RUST_LOG=warn \
        DATABASE_POOL_SIZE="$pool" RATE_LIMIT_PER_MINUTE="${RATE_LIMIT_PER_MINUTE:-0}" "$bin" "$@" >"$WORK/$name.log" 2>&1 &
    STARTED_PID=$!
    SERVER_PIDS+=("$STARTED_PID")
    local deadline=$((SECONDS + 60))
    until curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
        if ! kill -0 "$STARTED_PID" 2>/dev/null; then
            echo "$name exited during start-up:" >&2; cat "$WORK/$name.log" >&2; exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "$name is not ready after 60 s:" >&2; cat "$WORK/$name.log" >&2; exit 1
        fi
        sleep 0.2
    done
    echo "$name: pid $STARTED_PID on 127.0.0.1:$port, pool $pool: $(head -n1 "$WORK/$name.log")"
}

# Checks that one request answers 200 and saves the body to $WORK/<name>.<what>.json.
check_200() {
    local name=$1 port=$2 what=$3 path=$4 status
    status=$(curl -sS --max-time 10 -o "$WORK/$name.$what.json" -w '%{http_code}' \
        -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port$path")
    if [[ $status != 200 ]]; then
        echo "$name: GET $path answered $status:" >&2; cat "$WORK/$name.$what.json" >&2; echo >&2
        exit 1
    fi
}

# run_wrk SCENARIO PORT DURATION OUTFILE
run_wrk() {
    local scenario=$1 port=$2 duration=$3 out=$4
    local path=$LIST_PATH
    [[ $scenario == opp-red ]] && path=$RED_PATH
    BENCH_SCENARIO=$scenario BENCH_TOKEN=$TOKEN BENCH_IDS_FILE="$WORK/ids.txt" \
        BENCH_LIST_PATH="$path" BENCH_OPP_BODY="${OPP_BODY:-}" BENCH_STAGES="$OPEN_STAGES" \
        timeout --kill-after=5 $((duration + 60)) \
        wrk -t1 -c"$CONNECTIONS" -d"${duration}s" --timeout "$WRK_TIMEOUT" --latency -s "$LUA" \
        "http://127.0.0.1:$port" >"$out" 2>&1 || {
        echo "wrk failed:" >&2; cat "$out" >&2; exit 1
    }
}

field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

# warm_up TARGET SCENARIO PORT
warm_up() {
    local out="$WORK/warmup.out"
    ((WARMUP > 0)) || return 0
    run_wrk "$2" "$3" "$WARMUP" "$out"
    echo "warm-up $1 $2 (${WARMUP}s): $(grep '^RESULT' "$out" || echo 'no RESULT line')"
}

# measure TARGET SCENARIO RUN PORT PID LOG: one wrk run; appends a row to $SUMMARY.
measure() {
    local target=$1 scenario=$2 run=$3 port=$4 pid=$5 server_log=$6
    local out="$WORK/wrk.out" cpu0 cpu1 pg0 pg1 w0 w1 m0 m1 result
    if ((WAIT_IDLE > 0)); then quiet_check; fi
    cpu0=$(proc_cpu_ticks "$pid"); pg0=$(pg_cpu_ticks); m0=$(machine_ticks); w0=$(children_cpu_ticks)
    run_wrk "$scenario" "$port" "$DURATION" "$out"
    w1=$(children_cpu_ticks); m1=$(machine_ticks); cpu1=$(proc_cpu_ticks "$pid"); pg1=$(pg_cpu_ticks)
    echo "--- $target / $scenario / run $run"
    cat "$out"
    result=$(grep '^RESULT' "$out" | tail -n1)
    [[ -n $result ]] || { echo "wrk printed no RESULT line" >&2; exit 1; }
    local requests non2xx errors hwm srv_us pg_us wrk_us busy other b0 i0 b1 i1
    requests=$(field requests "$result")
    non2xx=$(field non2xx "$result")
    errors=$(( $(field connect "$result") + $(field read "$result") + $(field write "$result") \
        + $(field timeout "$result") ))
    if grep -q 'Non-2xx or 3xx responses' "$out" || ((non2xx > 0)); then
        echo "!!! $target / $scenario / run $run: $non2xx non-2xx responses; the server's last log lines:" >&2
        tail -n 5 "$server_log" >&2
        FAILED=1
    fi
    hwm=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
    per_request() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN {printf "%.0f", n ? t / hz * 1e6 / n : 0}'; }
    srv_us=$(per_request $((cpu1 - cpu0)))
    pg_us=$(per_request $((pg1 - pg0)))
    wrk_us=$(per_request $((w1 - w0)))
    read -r b0 i0 <<<"$m0"; read -r b1 i1 <<<"$m1"
    # busy: the whole machine; other: busy minus server, PostgreSQL and wrk (should stay ~0:
    # anything else running on the machine distorts the figures).
    busy=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN {printf "%.0f", (b + i) ? 100 * b / (b + i) : 0}')
    other=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v s=$((cpu1 - cpu0 + pg1 - pg0 + w1 - w0)) \
        'BEGIN {o = (b + i) ? 100 * (b - s) / (b + i) : 0; printf "%.0f", o < 0 ? 0 : o}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$scenario" "$run" \
        "$(field rps "$result")" "$(field p50_ms "$result")" "$(field p99_ms "$result")" \
        "$(field p999_ms "$result")" "$(field max_ms "$result")" "$srv_us" "$pg_us" "$wrk_us" "$busy" \
        "$other" "$hwm" "$non2xx/$errors" >>"$SUMMARY"
}

# shellcheck disable=SC2059 # the format is a constant of this function
print_summary() {
    local fmt='%-24s %-4s %3s %9s %7s %7s %8s %8s %6s %6s %6s %5s %5s %6s %8s\n' header
    header=$(printf "$fmt" target scen run 'req/s' 'p50' 'p99' 'p99.9' 'max' 'srv' 'pg' 'wrk' 'busy' \
        'other' 'RSS' 'non2xx/')
    echo "$header"
    printf "$fmt" '' '' '' '' 'ms' 'ms' 'ms' 'ms' 'µs/req' 'µs/req' 'µs/req' '%' '%' 'MB' 'errors'
    printf '%s\n' "$header" | sed 's/./-/g'
    while IFS=$'\t' read -r target scen run rps p50 p99 p999 max srv pg wrk busy other hwm err; do
        printf "${fmt%\\n}%s\n" "$target" "$scen" "$run" "$rps" "$p50" "$p99" "$p999" "$max" "$srv" "$pg" \
            "$wrk" "$busy" "$other" "$hwm" "$err" "$( ((other > 10)) && echo '  <- other load' )"
    done <"$SUMMARY"
    if awk -F'\t' '$13 > 10 {found = 1} END {exit !found}' "$SUMMARY"; then
        echo "<- other load: more than 10 % of the machine went to other processes during that run;"
        echo "   its latencies and req/s are not comparable (its CPU per request mostly is)."
    fi
}

# The anchor of the write scenarios: the least SQL a create and a stage move need, one statement
# each, run by pgbench on the same database: the opportunity row with its derived values, its
# stage history row and its outbox event (~1 KB, the row as JSON); the report-cell deltas and
# stage visits follow from the triggers, as for the API. A move takes one of $OPEN_STAGES for
# one of the ids the opp-stage scenario moves. pgbench runs -M prepared at $CONNECTIONS
# connections; tps and PostgreSQL CPU per transaction go to $ANCHOR (scenario, tps, pg µs).
ANCHOR="$WORK/anchor.tsv"
anchor_writes() {
    local owner stages
    owner=$(psql_db -Atc "SELECT default_owner_id FROM classes WHERE id = 'NEUWAGEN'")
    stages="ARRAY['$(sed "s/,/','/g" <<<"$OPEN_STAGES")']::uuid[]"
    cat >"$WORK/anchor-post.sql" <<SQL
WITH o AS (
    INSERT INTO opportunities (id, subject, business_partner_id, class_id, funnel_id, stage_id, owner_id,
                               currency, status, probability, target_value, weighted_value, created_by)
    SELECT gen_random_uuid(), 'Anchor', '$DEMO_PARTNER', 'NEUWAGEN', '$NEUWAGEN_ID', s.id, '$owner', 'EUR', 'open',
           s.probability, 25000.00, round(25000.00 * s.probability / 100, 2), 'bench'
    FROM stages s WHERE s.id = '${OPEN_STAGES%%,*}'
    RETURNING *
), h AS (
    INSERT INTO opportunity_stage_changes (id, opportunity_id, from_stage_id, to_stage_id, probability, target_value, changed_by)
    SELECT gen_random_uuid(), o.id, NULL, o.stage_id, o.probability, o.target_value, 'bench' FROM o
)
INSERT INTO events (id, type, subject_id, actor, data)
SELECT gen_random_uuid(), 'opportunity.created', o.id::text, 'bench', jsonb_build_object('opportunity', to_jsonb(o)) FROM o;
SQL
    cat >"$WORK/anchor-stage.sql" <<SQL
\set n random(1, $ids)
\set s random(1, 3)
WITH prev AS (
    SELECT id, stage_id FROM opportunities WHERE id = (SELECT id FROM bench_ids WHERE n = :n)
), o AS (
    UPDATE opportunities SET stage_id = s.id, probability = s.probability,
           weighted_value = round(opportunities.target_value * s.probability / 100, 2),
           stage_entered_at = now(), updated_at = now(), version = opportunities.version + 1
    FROM prev, stages s
    WHERE opportunities.id = prev.id AND s.id = ($stages)[:s]
    RETURNING opportunities.*
), h AS (
    INSERT INTO opportunity_stage_changes (id, opportunity_id, from_stage_id, to_stage_id, probability, target_value, changed_by)
    SELECT gen_random_uuid(), o.id, prev.stage_id, o.stage_id, o.probability, o.target_value, 'bench' FROM o, prev
)
INSERT INTO events (id, type, subject_id, actor, data)
SELECT gen_random_uuid(), 'opportunity.stage_changed', o.id::text, 'bench', jsonb_build_object('opportunity', to_jsonb(o)) FROM o;
SQL
    quiet_check
    check_connections "$CONNECTIONS"
    local scenario out pg0 pg1 tps n
    for scenario in post stage; do
        log "anchor opp-$scenario: pgbench -M prepared -c $CONNECTIONS -j 2 -T $DURATION"
        cat "$WORK/anchor-$scenario.sql"
        for run in $(seq 1 "$RUNS"); do
            out="$WORK/pgbench.out"
            pg0=$(pg_cpu_ticks)
            timeout --kill-after=5 $((DURATION + 60)) pgbench -n -M prepared -c "$CONNECTIONS" -j 2 \
                -T "$DURATION" -f "$WORK/anchor-$scenario.sql" "$DB_URL" >"$out" 2>&1 || {
                cat "$out" >&2; echo "pgbench failed" >&2; exit 1
            }
            pg1=$(pg_cpu_ticks)
            tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | tail -n1)
            n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
            printf 'opp-%s\t%s\t%s\n' "$scenario" "$tps" \
                "$(awk -v t=$((pg1 - pg0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN {printf "%.0f", n ? t / hz * 1e6 / n : 0}')" >>"$ANCHOR"
            printf 'anchor opp-%s run %s: %s tps, %s µs PostgreSQL CPU per transaction\n' "$scenario" "$run" "$tps" \
                "$(tail -n1 "$ANCHOR" | cut -f3)" >>"$PGBENCH_SUMMARY"
        done
    done
}

# Each write scenario's mean req/s and PostgreSQL CPU per request against the anchor's.
print_anchor_ratios() {
    [[ -s ${ANCHOR:-} ]] || return 0
    echo
    echo "write scenarios against the anchor (means of the runs; req/s ÷ tps, pg µs ÷ pg µs):"
    local scenario
    for scenario in opp-post opp-stage; do
        awk -F'\t' -v s="$scenario" '
            FILENAME == ARGV[1] && $2 == s { rps += $4; pg += $10; n++ }
            FILENAME == ARGV[2] && $1 == s { tps += $2; apg += $3; m++ }
            END {
                if (n && m) printf "%-9s %8.1f req/s vs %8.1f tps: %.2fx   PostgreSQL CPU %6.0f vs %6.0f µs: %.2fx\n",
                    s, rps / n, tps / m, (rps / n) / (tps / m), pg / n, apg / m, (pg / n) / (apg / m)
            }' "$SUMMARY" "$ANCHOR"
    done
}

# The list queries of the opportunity scenarios as the server sends them (taken from the
# PostgreSQL log with log_min_duration_statement = 0), with the parameters filled in:
# EXPLAIN ANALYZE of each, then of the generic plan a prepared statement may switch to.
explain_opportunity_lists() {
    local cols name where
    cols=$(psql_db -Atc "SELECT string_agg(format('%I.%I', 'opportunities', attname), ', ' ORDER BY attnum)
        FROM pg_attribute WHERE attrelid = 'opportunities'::regclass AND attnum > 0 AND NOT attisdropped")
    local health='opportunity_health(opportunities.status, opportunities.last_contact_at,
        health_cutoff(stages.warn_after_days, funnels.warn_after_days),
        health_cutoff(stages.critical_after_days, funnels.critical_after_days))'
    local from='FROM ((opportunities INNER JOIN stages ON opportunities.stage_id = stages.id)
        INNER JOIN funnels ON opportunities.funnel_id = funnels.id)'
    for name in list red; do
        if [[ $name == list ]]; then
            where="opportunities.id IS NOT NULL AND opportunities.status = \$1 AND opportunities.owner_id = \$2"
            args="'open', '$REP_ID'"
        else
            where="opportunities.id IS NOT NULL AND opportunities.funnel_id = \$2 AND opportunities.status = \$1
                AND opportunities.last_contact_at <= health_cutoff(stages.critical_after_days, funnels.critical_after_days)"
            args="'open', '$NEUWAGEN_ID'"
        fi
        log "EXPLAIN ANALYZE opp-$name ($([[ $name == list ]] && echo "$LIST_PATH" || echo "$RED_PATH"))"
        psql_db <<SQL
PREPARE q(text, uuid, bigint) AS SELECT $cols, $health $from WHERE $where
    ORDER BY opportunities.updated_at DESC, opportunities.id DESC LIMIT \$3;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q($args, 51);
SET plan_cache_mode = force_generic_plan;
\\echo '--- the generic plan'
EXPLAIN (ANALYZE, COSTS OFF) EXECUTE q($args, 51);
SQL
    done
}

# ============================================================================================
log "salesfunnel benchmark $STAMP  (raw output: ${RESULT_FILE#"$REPO"/})"
if [[ -n $REV ]]; then
    echo "revision: $COMMIT ($REV, exported with git archive)"
else
    echo "work tree at commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" \
        diff --quiet HEAD -- src Cargo.toml Cargo.lock migrations 2>/dev/null || echo ' + uncommitted changes')"
fi
echo "database: $DB_URL   partners: $PARTNERS   wrk: -t1 -c$CONNECTIONS -d${DURATION}s, $RUNS runs, ${WARMUP}s warm-up"
echo "machine: $(nproc) cores, $(uname -r), $(psql "$ADMIN_URL" -X -Atc 'SHOW server_version' 2>/dev/null | sed 's/^/PostgreSQL /')"

if [[ $SKIP_BUILD != 1 ]]; then
    if [[ -n $REV ]]; then
        log "cargo build --release of $COMMIT (target/bench-rev)"
        mkdir -p "$WORK/src"
        git -C "$REPO" archive "$COMMIT" | tar -x -C "$WORK/src"
        (cd "$WORK/src" && CARGO_TARGET_DIR="$REV_TARGET" cargo build --release --locked)
    else
        log "cargo build --release"
        (cd "$REPO" && cargo build --release)
    fi
    if ((RUN_COMPARE)); then
        log "cargo build --release (bench/async-probe)"
        cargo build --release --manifest-path "$PROBE_DIR/Cargo.toml"
    fi
fi
[[ -x $BIN ]] || { echo "$BIN is missing" >&2; exit 1; }
echo "server binary: ${BIN#"$REPO"/}, built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC')"
# The server's database access path, for the labels: from the Cargo.toml it was built from.
if [[ -n $REV ]]; then
    manifest=$(git -C "$REPO" show "$COMMIT:Cargo.toml")
else
    manifest=$(cat "$REPO/Cargo.toml")
fi
if grep -q '^diesel-async' <<<"$manifest"; then
    SERVER="server-async"; SERVER_PATH="diesel-async + deadpool on the actix workers"
elif grep -q '^diesel = .*r2d2' <<<"$manifest"; then
    SERVER="server-r2d2"; SERVER_PATH="sync diesel + r2d2 inside web::block"
else
    SERVER="server"; SERVER_PATH="unknown access path"
fi
echo "server database access path: $SERVER_PATH"
if ((RUN_COMPARE)); then
    [[ -x $PROBE_BIN ]] || { echo "$PROBE_BIN is missing" >&2; exit 1; }
fi

# A fresh 40-character HS256 secret for this run.
JWT_SECRET=$(head -c 30 /dev/urandom | base64 | tr '+/' '-_')
export JWT_SECRET

if [[ $SKIP_SEED != 1 ]]; then
    log "fresh database $DB_NAME"
    psql "$ADMIN_URL" -X -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)"
    psql "$ADMIN_URL" -X -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$DB_NAME\""
    if ((OPPORTUNITY_MODE)); then
        log "salesfunnel seed --opportunities $OPPORTUNITIES"
        /usr/bin/time -f 'seed: %e s wall, %M KB peak RSS' \
            env DATABASE_URL="$DB_URL" RUST_LOG=warn "$BIN" seed --opportunities "$OPPORTUNITIES"
    else
        log "salesfunnel seed --partners $PARTNERS"
        DATABASE_URL="$DB_URL" RUST_LOG=warn "$BIN" seed --partners "$PARTNERS"
    fi
fi

if ((OPPORTUNITY_MODE)); then
    # Open opportunities of the Neuwagen funnel in its first three stages: GET reads them and
    # the stage scenario moves them among those stages (moving to the current stage is a no-op).
    log "picking $ID_COUNT random open opportunity ids (table bench_ids)"
    ID_SOURCE="SELECT id FROM opportunities WHERE funnel_id = '$NEUWAGEN_ID' AND status = 'open'
        AND stage_id IN ('${OPEN_STAGES//,/\',\'}') ORDER BY random() LIMIT $ID_COUNT"
else
    log "picking $ID_COUNT random partner ids (table bench_ids)"
    ID_SOURCE="SELECT id FROM business_partners ORDER BY random() LIMIT $ID_COUNT"
fi
psql_db <<SQL
DROP TABLE IF EXISTS bench_ids;
CREATE TABLE bench_ids (n serial PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench_ids (id) $ID_SOURCE;
ANALYZE bench_ids;
SQL
psql_db -Atc "SELECT id FROM bench_ids ORDER BY n" >"$WORK/ids.txt"
ids=$(wc -l <"$WORK/ids.txt")
((ids > 0)) || { echo "no rows to pick ids from in $DB_NAME" >&2; exit 1; }
if ((OPPORTUNITY_MODE)); then
    echo "$ids ids; opportunities: $(psql_db -Atc 'SELECT count(*) FROM opportunities')," \
        "open ones of rep $REP_ID: $(psql_db -Atc "SELECT count(*) FROM opportunities WHERE owner_id = '$REP_ID' AND status = 'open'")," \
        "lines: $(psql_db -Atc 'SELECT count(*) FROM opportunity_lines'), activities: $(psql_db -Atc 'SELECT count(*) FROM activities')"
else
    echo "$ids ids; partners in the table: $(psql_db -Atc 'SELECT count(*) FROM business_partners')," \
        "customers of rep $REP_ID: $(psql_db -Atc "SELECT count(*) FROM business_partners WHERE owner_id = '$REP_ID' AND kind = 'customer'")"
fi

TOKEN=$(DATABASE_URL="$DB_URL" "$BIN" token --role admin --ttl 14400)
FIRST_ID=$(head -n1 "$WORK/ids.txt")

# ============================================================================================
if ((RUN_MAIN)); then
    log "server ($SERVER_PATH), pool $POOL_SIZE"
    quiet_check
    check_connections "$POOL_SIZE"
    start_server server "$PORT" "$POOL_SIZE" "$BIN" serve
    MAIN_PID=$STARTED_PID
    if ((OPPORTUNITY_MODE)); then
        check_200 server "$PORT" get "/api/v1/opportunities/$FIRST_ID"
        check_200 server "$PORT" red "$RED_PATH"
        echo "health=red page: $(grep -o '"number":' "$WORK/server.red.json" | wc -l) items"
    else
        check_200 server "$PORT" get "/api/v1/business-partners/$FIRST_ID"
    fi
    check_200 server "$PORT" list "$LIST_PATH"
    echo "sample GET body: $(head -c 300 "$WORK/server.get.json")..."
    echo "list page: $(grep -o '"number":' "$WORK/server.list.json" | wc -l) items"
    for scenario in $SCENARIOS; do
        log "scenario $scenario"
        warm_up "$SERVER p$POOL_SIZE" "$scenario" "$PORT"
        for run in $(seq 1 "$RUNS"); do
            measure "$SERVER p$POOL_SIZE" "$scenario" "$run" "$PORT" "$MAIN_PID" "$WORK/server.log"
        done
    done
    echo "server log (warnings and errors):"; tail -n 20 "$WORK/server.log"
    stop_pid "$MAIN_PID"

    if ((OPPORTUNITY_MODE)); then
        explain_opportunity_lists
        [[ $SKIP_PGBENCH == 1 ]] || anchor_writes
    elif [[ $SKIP_PGBENCH != 1 ]]; then
        # The SQL the server runs, as PostgreSQL logs it with log_min_duration_statement = 0;
        # diesel binds every value, LIMIT included, as a parameter. GET by id is a named
        # prepared statement (diesel's statement cache): -M prepared. The list is a boxed query
        # with SQL fragments, which diesel does not cache: it is parsed and planned for every
        # request as an unnamed statement, which is -M extended; -M prepared is shown too.
        # GET picks one of the same ids through bench_ids inside the statement, so a
        # transaction stays one round trip like a request.
        cols='"business_partners"."id", "business_partners"."number", "business_partners"."kind", "business_partners"."name", "business_partners"."email", "business_partners"."phone", "business_partners"."website", "business_partners"."street", "business_partners"."postal_code", "business_partners"."city", "business_partners"."country", "business_partners"."vat_id", "business_partners"."owner_id", "business_partners"."notes", "business_partners"."created_at", "business_partners"."updated_at", "business_partners"."version"'
        cat >"$WORK/get.sql" <<SQL
\set n random(1, $ids)
SELECT $cols FROM "business_partners" WHERE ("business_partners"."id" = (SELECT id FROM bench_ids WHERE n = :n)) LIMIT :one;
SQL
        cat >"$WORK/list.sql" <<SQL
SELECT $cols FROM "business_partners" WHERE ((("business_partners"."kind" = :kind) AND ("business_partners"."owner_id" = :owner)) AND TRUE) ORDER BY name ASC, id ASC LIMIT :lim;
SQL
        quiet_check
        check_connections "$CONNECTIONS"
        for case in "get prepared" "list extended" "list prepared"; do
            read -r scenario mode <<<"$case"
            log "pgbench $scenario: -M $mode -c $CONNECTIONS -j 2 -T $DURATION"
            cat "$WORK/$scenario.sql"
            for run in $(seq 1 "$RUNS"); do
                out="$WORK/pgbench.out"
                timeout --kill-after=5 $((DURATION + 60)) pgbench -n -M "$mode" -c "$CONNECTIONS" -j 2 \
                    -T "$DURATION" -D one=1 -D kind=customer -D owner="$REP_ID" -D lim=51 \
                    -f "$WORK/$scenario.sql" "$DB_URL" >"$out" 2>&1 || {
                    cat "$out" >&2; echo "pgbench failed" >&2; exit 1
                }
                cat "$out"
                printf 'pgbench %-4s -M %-8s run %s: %s, latency average %s ms\n' "$scenario" "$mode" "$run" \
                    "$(grep -o 'tps = [0-9.]*' "$out" | tail -n1)" \
                    "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$out")" >>"$PGBENCH_SUMMARY"
            done
        done
    fi
fi

# ============================================================================================
if ((RUN_COMPARE)); then
    log "access-path comparison, scenario get: all servers up at once, runs interleaved"
    quiet_check
    names=(); ports=(); pids=(); logs=()
    need=0
    for pool in $SYNC_POOLS; do need=$((need + pool)); done
    for entry in $ASYNC_POOLS; do need=$((need + ${entry%%:*})); done
    check_connections "$need"
    p=$((PORT + 1))
    ((${#SYNC_POOLS} + ${#ASYNC_POOLS} > 0)) || { echo "COMPARE_*_POOLS are both empty" >&2; exit 2; }
    for pool in $SYNC_POOLS; do
        start_server "$SERVER-p$pool" "$p" "$pool" "$BIN" serve
        names+=("$SERVER p$pool"); ports+=("$p"); pids+=("$STARTED_PID"); logs+=("$WORK/$SERVER-p$pool.log")
        p=$((p + 1))
    done
    for entry in $ASYNC_POOLS; do
        # POOL, or POOL:bare for the probe without metrics and access log.
        pool=${entry%%:*} middleware=full suffix=
        [[ $entry == *:bare ]] && middleware=bare suffix=" bare"
        PROBE_MIDDLEWARE=$middleware start_server "probe-async-p$pool$middleware" "$p" "$pool" "$PROBE_BIN"
        names+=("probe-async p$pool$suffix"); ports+=("$p"); pids+=("$STARTED_PID")
        logs+=("$WORK/probe-async-p$pool$middleware.log"); p=$((p + 1))
    done
    for i in "${!names[@]}"; do
        check_200 "cmp$i" "${ports[$i]}" get "/api/v1/business-partners/$FIRST_ID"
        if ! cmp -s "$WORK/cmp0.get.json" "$WORK/cmp$i.get.json"; then
            echo "!!! ${names[$i]} answers a different body than ${names[0]}:" >&2
            cat "$WORK/cmp0.get.json" "$WORK/cmp$i.get.json" >&2
            FAILED=1
        fi
    done
    echo "all ${#names[@]} servers answer the same JSON body for $FIRST_ID"
    for i in "${!names[@]}"; do warm_up "${names[$i]}" get "${ports[$i]}"; done
    for run in $(seq 1 "$RUNS"); do
        for i in "${!names[@]}"; do
            measure "${names[$i]}" get "$run" "${ports[$i]}" "${pids[$i]}" "${logs[$i]}"
        done
    done
    for i in "${!names[@]}"; do stop_pid "${pids[$i]}"; done
fi

# ============================================================================================
if ((RUN_RATE)); then
    log "rate limiter: scenario get with the limiter off and on, runs interleaved"
    quiet_check
    check_connections $((2 * POOL_SIZE))
    RATE_LIMIT_PER_MINUTE=0 start_server limit-off $((PORT + 1)) "$POOL_SIZE" "$BIN" serve
    off_pid=$STARTED_PID
    RATE_LIMIT_PER_MINUTE=1000000 start_server limit-on $((PORT + 2)) "$POOL_SIZE" "$BIN" serve
    on_pid=$STARTED_PID
    check_200 limit-on $((PORT + 2)) get "/api/v1/business-partners/$FIRST_ID"
    curl -sS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$((PORT + 2))/api/v1/business-partners/$FIRST_ID" | grep -i '^ratelimit-limit' \
        || { echo "limit-on sends no RateLimit-Limit" >&2; exit 1; }
    warm_up "limiter off" get $((PORT + 1))
    warm_up "limiter on" get $((PORT + 2))
    for run in $(seq 1 "$RUNS"); do
        measure "limiter off" get "$run" $((PORT + 1)) "$off_pid" "$WORK/limit-off.log"
        measure "limiter on" get "$run" $((PORT + 2)) "$on_pid" "$WORK/limit-on.log"
    done
    stop_pid "$off_pid"
    stop_pid "$on_pid"
fi

# ============================================================================================
log "summary"
if ((OPPORTUNITY_MODE)); then
    echo "scenarios: opp-get = GET /api/v1/opportunities/{random one of $ids open ids}"
    echo "           opp-list = GET $LIST_PATH"
    echo "           opp-red = GET $RED_PATH"
    echo "           opp-post = POST /api/v1/opportunities $OPP_BODY"
    echo "           opp-stage = POST /api/v1/opportunities/{random id}/stage {\"stage_id\": one of the first three Neuwagen stages}"
else
    echo "scenarios: get = GET /api/v1/business-partners/{random one of $ids ids}"
    echo "           list = GET $LIST_PATH"
    echo '           post = POST /api/v1/business-partners {"kind":"lead","name":"Bench <n>","city":"Berlin","country":"DE"}'
fi
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s --timeout $WRK_TIMEOUT; latencies from wrk's histogram."
echo "CPU per request (user+sys): srv = the server process, pg = all PostgreSQL processes, wrk = the load"
echo "generator; busy = whole machine ($(nproc) cores); other = busy minus those three (other load on the"
echo "machine: should be ~0); RSS = the server's peak resident set (VmHWM)."
echo
print_summary
if [[ -s $PGBENCH_SUMMARY ]]; then
    echo
    cat "$PGBENCH_SUMMARY"
fi
print_anchor_ratios
echo
echo "raw output: $RESULT_FILE"
if ((FAILED)); then
    echo "FAILED: some requests answered non-2xx (see above)" >&2
    exit 1
fi
