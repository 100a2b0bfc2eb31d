# Sourced by bench/events.sh, bench/batch.sh and bench/webhooks.sh: checks that $DB_URL names a
# loopback database whose name contains "bench" (the only kind they drop) and that the tools
# they need ("$@") are installed; sets DB_NAME and ADMIN_URL; defines log, psql_db and build.
[[ $DB_URL =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost)(:[0-9]+)?/([A-Za-z0-9_]*bench[A-Za-z0-9_]*)$ ]] \
    || { echo "BENCH_DATABASE_URL must be a loopback database whose name contains 'bench': $DB_URL" >&2; exit 2; }
DB_NAME=${BASH_REMATCH[5]}
ADMIN_URL="${DB_URL%/*}/postgres"
for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
log() { echo "== $(date -u +%H:%M:%S) $*"; }
psql_db() { psql "$DB_URL" -X -v ON_ERROR_STOP=1 -q "$@"; }
# The release build, unless SKIP_BUILD=1; and a fresh JWT_SECRET for the servers and tokens.
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release"
    (cd "$REPO" && cargo build --release)
fi
JWT_SECRET=$(head -c 30 /dev/urandom | base64 | tr '+/' '-_')
export JWT_SECRET
