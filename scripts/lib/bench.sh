# Shared plumbing of the bench scripts (sourced, not run): a temp dir and
# process list cleaned up on exit, the backend's database/Redis per run,
# health waits, RSS, and one loadgen run. Callers set BACKEND, the MYSQL_*
# and REDIS_URL knobs, and LOADGEN.

log() { printf '[bench] %s\n' "$*" >&2; }

TMP=$(mktemp -d)
PIDS=()
MYSQL_DBS=()
REDIS_PREFIX=""
bench_cleanup() {
    local pid db
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ "${KEEP:-0}" == 1 ]]; then
        log "KEEP=1: left ${TMP} (and any databases / Redis keys) in place"
        return
    fi
    for db in "${MYSQL_DBS[@]}"; do
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "DROP DATABASE IF EXISTS \`$db\`" || true
    done
    if [[ -n "$REDIS_PREFIX" ]]; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
    fi
    rm -rf "$TMP"
}
trap bench_cleanup EXIT

# database_url NAME → the URL of a fresh database for one service of this run.
database_url() {
    local name=$1
    case "$BACKEND" in
        sqlite) echo "sqlite://${TMP}/${name}.db?mode=rwc" ;;
        mysql)
            local db="wework_bench_${name}_$$"
            mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "CREATE DATABASE \`$db\`"
            MYSQL_DBS+=("$db")
            echo "mysql://${MYSQL_USER}@${MYSQL_HOST}:${MYSQL_PORT}/${db}"
            ;;
        *) log "BACKEND must be sqlite or mysql, not '$BACKEND'"; exit 2 ;;
    esac
}

# cache_env PREFIX → exports the Redis cache settings on the mysql backend.
cache_env() {
    if [[ "$BACKEND" == mysql ]]; then
        REDIS_PREFIX="bench-$$:"
        export WEWORK__CACHE__REDIS_URL="$REDIS_URL"
        export WEWORK__CACHE__KEY_PREFIX="${REDIS_PREFIX}$1:"
    fi
}

# wait_healthy NAME HTTP_PORT PID — polls /healthz for up to 60 s.
wait_healthy() {
    local name=$1 port=$2 pid=$3 i
    for ((i = 0; i < 120; i++)); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "http://127.0.0.1:${port}/healthz" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "${name} exited during start-up; its log:"
            cat "$TMP/${name}.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    log "${name} not healthy after 60 s; its log:"
    cat "$TMP/${name}.log" >&2
    exit 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

json_field() {
    python3 -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"
}

# loadgen_run NAME TARGET METHOD DATA CONCURRENCY PID [extra loadgen args...] → $TMP/NAME.json
loadgen_run() {
    local name=$1 target=$2 method=$3 data=$4 concurrency=$5 pid=$6
    shift 6
    log "run: ${name} (concurrency ${concurrency}, ${DURATION})"
    if ! "$LOADGEN" run --target "$target" --method "$method" --data "$data" --concurrency "$concurrency" \
        --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --pid "$pid" --json "$@" \
        >"$TMP/${name}.json"; then
        log "run ${name} had no successful call"
    fi
}
