#!/usr/bin/env bash
# Benchmarks the user service against the bare echo RPC, in one run on this
# machine, and prints a markdown table (req/s, p50, p99, ratio to echo, RSS).
#
#   scripts/bench-user.sh                  # SQLite file + in-process cache
#   BACKEND=mysql scripts/bench-user.sh    # a throwaway MariaDB database + Redis
#
# Knobs (env): DURATION=10s WARMUP=2s CONCURRENCY=64 CONNECTIONS=4 BUILD=1 KEEP=0
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

source scripts/lib/bench.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building release binaries (user-service, loadgen)"
    cargo build --release --locked --bin user-service --bin loadgen
fi

export WEWORK__SERVER__GRPC_ADDR="127.0.0.1:${GRPC_PORT}"
export WEWORK__SERVER__HTTP_ADDR="127.0.0.1:${HTTP_PORT}"
export WEWORK__AUTH__DATA_DIR="$TMP"
export WEWORK__AUTH__USER_SERVICE_URL="$SERVICE_URL"
export WEWORK__BOOTSTRAP__ADMIN_PASSWORD="$ADMIN_PASSWORD"
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"
cache_env user
WEWORK__DATABASE__URL=$(database_url user)
export WEWORK__DATABASE__URL

"$LOADGEN" echo-server --addr "127.0.0.1:${ECHO_PORT}" >"$TMP/echo.log" 2>&1 &
PIDS+=("$!")
"$SERVICE" >"$TMP/user-service.log" 2>&1 &
SERVICE_PID=$!
PIDS+=("$SERVICE_PID")
log "waiting for the user service (${BACKEND}) to be healthy"
wait_healthy user-service "$HTTP_PORT" "$SERVICE_PID"

LOGIN_JSON=$(printf '{"tenantCode":"platform","login":"admin","password":"%s"}' "$ADMIN_PASSWORD")
login_response=$("$LOADGEN" call --target "$SERVICE_URL" --method wework.user.v1.AuthService/Login --data "$LOGIN_JSON")
TOKEN=$(json_field tokens.accessToken <<<"$login_response")
USER_ID=$(json_field userId <<<"$login_response")
AUTH="authorization=Bearer ${TOKEN}"
log "logged in as admin (user ${USER_ID})"
IDLE_RSS=$(rss_kib "$SERVICE_PID")

loadgen_run echo "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" "$SERVICE_PID"
# The same echo carrying the same bearer header: h2 never indexes `authorization`,
# so every request pays for its ~540 bytes on both sides. This separates that
# transport cost from the service's own work.
loadgen_run echo+auth "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" \
    "$SERVICE_PID" -H "$AUTH"
loadgen_run WhoAmI "$SERVICE_URL" wework.user.v1.AuthService/WhoAmI '{}' "$CONCURRENCY" "$SERVICE_PID" -H "$AUTH"
loadgen_run GetUser "$SERVICE_URL" wework.user.v1.UserService/GetUser "{\"userId\":\"${USER_ID}\"}" "$CONCURRENCY" \
    "$SERVICE_PID" -H "$AUTH"
loadgen_run Login "$SERVICE_URL" wework.user.v1.AuthService/Login "$LOGIN_JSON" "$LOGIN_CONCURRENCY" "$SERVICE_PID"

python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:${HTTP_PORT}/metrics" >"$TMP/metrics.txt" || true
python3 scripts/lib/bench_table.py "$TMP" "user-service on ${BACKEND}" "$IDLE_RSS" "$(rss_kib "$SERVICE_PID")" \
    echo echo+auth WhoAmI GetUser Login | tee "${BENCH_OUT:-/dev/null}"
