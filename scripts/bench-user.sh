#!/usr/bin/env bash
# Benchmarks the user service against the bare echo RPC, in one run on this
# machine, and prints a markdown table (req/s, p50, p99, ratio to echo, RSS).
#
#   scripts/bench-user.sh                  # SQLite file + in-process cache
#   BACKEND=mysql scripts/bench-user.sh    # a throwaway MariaDB database + Redis
#
# Knobs (env): DURATION=10s WARMUP=2s CONCURRENCY=64 CONNECTIONS=4
# LOGIN_CONCURRENCY=4 (argon2-bound) GRPC_PORT=50151 HTTP_PORT=9151
# ECHO_PORT=50199 MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root
# REDIS_URL=redis://127.0.0.1:6379 BENCH_OUT=<file to also write the table to>.
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-4}
LOGIN_CONCURRENCY=${LOGIN_CONCURRENCY:-4}
GRPC_PORT=${GRPC_PORT:-50151}
HTTP_PORT=${HTTP_PORT:-9151}
ECHO_PORT=${ECHO_PORT:-50199}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

LOADGEN=target/release/loadgen
SERVICE=target/release/user-service
SERVICE_URL="http://127.0.0.1:${GRPC_PORT}"
ECHO_URL="http://127.0.0.1:${ECHO_PORT}"
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

log() { printf '[bench] %s\n' "$*" >&2; }

TMP=$(mktemp -d)
PIDS=()
MYSQL_DB=""
REDIS_PREFIX=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$MYSQL_DB" ]]; then
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "DROP DATABASE IF EXISTS \`$MYSQL_DB\`" || true
    fi
    if [[ -n "$REDIS_PREFIX" ]]; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

log "building release binaries (user-service, loadgen)"
cargo build --release --locked --bin user-service --bin loadgen

export WEWORK__SERVER__GRPC_ADDR="127.0.0.1:${GRPC_PORT}"
export WEWORK__SERVER__HTTP_ADDR="127.0.0.1:${HTTP_PORT}"
export WEWORK__AUTH__DATA_DIR="$TMP"
export WEWORK__AUTH__USER_SERVICE_URL="$SERVICE_URL"
export WEWORK__BOOTSTRAP__ADMIN_PASSWORD="$ADMIN_PASSWORD"
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"
case "$BACKEND" in
    sqlite)
        export WEWORK__DATABASE__URL="sqlite://${TMP}/user.db?mode=rwc"
        ;;
    mysql)
        MYSQL_DB="wework_bench_$$"
        REDIS_PREFIX="bench-$$:"
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "CREATE DATABASE \`$MYSQL_DB\`"
        export WEWORK__DATABASE__URL="mysql://${MYSQL_USER}@${MYSQL_HOST}:${MYSQL_PORT}/${MYSQL_DB}"
        export WEWORK__CACHE__REDIS_URL="$REDIS_URL"
        export WEWORK__CACHE__KEY_PREFIX="$REDIS_PREFIX"
        ;;
    *)
        log "BACKEND must be sqlite or mysql, not '$BACKEND'"
        exit 2
        ;;
esac

"$LOADGEN" echo-server --addr "127.0.0.1:${ECHO_PORT}" >"$TMP/echo.log" 2>&1 &
PIDS+=("$!")
"$SERVICE" >"$TMP/user-service.log" 2>&1 &
SERVICE_PID=$!
PIDS+=("$SERVICE_PID")

log "waiting for the user service (${BACKEND}) to be healthy"
healthy() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:${HTTP_PORT}/healthz" 2>/dev/null
}
for ((i = 0; i < 120; i++)); do
    if healthy; then break; fi
    if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
        log "user-service exited during start-up; its log:"
        cat "$TMP/user-service.log" >&2
        exit 1
    fi
    sleep 0.5
done
if ! healthy; then
    log "user-service not healthy after 60 s; its log:"
    cat "$TMP/user-service.log" >&2
    exit 1
fi

LOGIN_JSON=$(printf '{"tenantCode":"platform","login":"admin","password":"%s"}' "$ADMIN_PASSWORD")
login_response=$("$LOADGEN" call --target "$SERVICE_URL" --method wework.user.v1.AuthService/Login --data "$LOGIN_JSON")
json_field() { python3 -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }
TOKEN=$(json_field tokens.accessToken <<<"$login_response")
USER_ID=$(json_field userId <<<"$login_response")
AUTH="authorization=Bearer ${TOKEN}"
log "logged in as admin (user ${USER_ID})"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
IDLE_RSS=$(rss_kib "$SERVICE_PID")

# bench NAME TARGET METHOD DATA CONCURRENCY [extra loadgen args...]
bench() {
    local name=$1 target=$2 method=$3 data=$4 concurrency=$5
    shift 5
    log "run: ${name} (concurrency ${concurrency}, ${DURATION})"
    if ! "$LOADGEN" run --target "$target" --method "$method" --data "$data" --concurrency "$concurrency" \
        --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --pid "$SERVICE_PID" --json "$@" \
        >"$TMP/${name}.json"; then
        log "run ${name} had no successful call"
    fi
}

bench echo "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY"
# The same echo carrying the same bearer header: h2 never indexes `authorization`,
# so every request pays for its ~540 bytes on both sides. This separates that
# transport cost from the service's own work.
bench echo+auth "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" -H "$AUTH"
bench WhoAmI "$SERVICE_URL" wework.user.v1.AuthService/WhoAmI '{}' "$CONCURRENCY" -H "$AUTH"
bench GetUser "$SERVICE_URL" wework.user.v1.UserService/GetUser "{\"userId\":\"${USER_ID}\"}" "$CONCURRENCY" -H "$AUTH"
bench Login "$SERVICE_URL" wework.user.v1.AuthService/Login "$LOGIN_JSON" "$LOGIN_CONCURRENCY"

python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:${HTTP_PORT}/metrics" >"$TMP/metrics.txt" || true
python3 - "$TMP" "$BACKEND" "$IDLE_RSS" "$(rss_kib "$SERVICE_PID")" "$(nproc)" <<'PY' | tee "${BENCH_OUT:-/dev/null}"
import json, os, sys
tmp, backend, idle_rss, final_rss, cores = sys.argv[1:6]
def load(name):
    path = os.path.join(tmp, name + ".json")
    try:
        with open(path) as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None
runs = [(n, load(n)) for n in ("echo", "echo+auth", "WhoAmI", "GetUser", "Login")]
echo = runs[0][1]
echo_rps = echo["ok_rps"] if echo else 0
print(f"\n### user-service on {backend} ({cores} cores; loadgen, echo server and service share them)\n")
print("| method | concurrency | req/s | p50 ms | p99 ms | errors | ratio to echo | target RSS MiB after |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, r in runs:
    if r is None:
        print(f"| {name} | | failed | | | | | |")
        continue
    errors = sum(e["count"] for e in r["errors"].values())
    ratio = r["ok_rps"] / echo_rps if echo_rps else None
    ratio = "n/a" if ratio is None else ("<0.01" if ratio < 0.01 else f"{ratio:.2f}")
    mem = r.get("memory")
    rss = f"{mem['rss_kib'] / 1024:.1f}" if mem and not name.startswith("echo") else ""
    lat = r["latency_ms"]
    print(f"| {name} | {r['concurrency']} | {r['ok_rps']:.0f} | {lat['p50']:.2f} | {lat['p99']:.2f} | {errors} | {ratio} | {rss} |")
    for code, e in r["errors"].items():
        print(f"|   {code} | | | | | {e['count']} | e.g. {e['sample'][:60]} | |")
print(f"\nuser-service RSS: {int(idle_rss) / 1024:.1f} MiB idle after start, {int(final_rss) / 1024:.1f} MiB after the runs")
hits = misses = 0.0
try:
    for line in open(f"{tmp}/metrics.txt"):
        if line.startswith("cache_requests_total"):
            value = float(line.rsplit(" ", 1)[1])
            if 'result="hit"' in line:
                hits += value
            elif 'result="miss"' in line:
                misses += value
except OSError:
    pass
if hits + misses:
    print(f"cache hit rate over the whole run: {100 * hits / (hits + misses):.2f} % ({hits:.0f} hits, {misses:.0f} misses)")
PY
