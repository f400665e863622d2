#!/usr/bin/env bash
# Benchmarks the account service's cached read (GetAccount) against the bare
# echo RPC and the echo carrying the same bearer header, in one run, and
# prints a markdown table (req/s, p50, p99, ratio, RSS, cache hit rate).
#
#   scripts/bench-account.sh                  # SQLite files + in-process cache
#   BACKEND=mysql scripts/bench-account.sh    # throwaway MariaDB databases + Redis
#
# Knobs (env): DURATION=10s WARMUP=2s CONCURRENCY=64 CONNECTIONS=4 BUILD=1
# MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root REDIS_URL=redis://127.0.0.1:6379
# BENCH_OUT=<file to also write the table to>, KEEP=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-4}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
LOADGEN=target/release/loadgen
USER_URL=http://127.0.0.1:50171
ACCOUNT_URL=http://127.0.0.1:50172
ECHO_URL=http://127.0.0.1:50179
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

source scripts/lib/bench.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building release binaries (user-service, account-service, loadgen)"
    cargo build --release --locked --bin user-service --bin account-service --bin loadgen
fi

export WEWORK__AUTH__DATA_DIR="$TMP"
export WEWORK__AUTH__USER_SERVICE_URL="$USER_URL"
export WEWORK__BOOTSTRAP__ADMIN_PASSWORD="$ADMIN_PASSWORD"
export WEWORK__INTEGRATIONS__TASK_SERVICE_URL=""
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"

"$LOADGEN" echo-server --addr "127.0.0.1:50179" >"$TMP/echo.log" 2>&1 &
PIDS+=("$!")

cache_env user
WEWORK__DATABASE__URL=$(database_url user) WEWORK__SERVER__GRPC_ADDR=127.0.0.1:50171 \
    WEWORK__SERVER__HTTP_ADDR=127.0.0.1:9171 target/release/user-service >"$TMP/user-service.log" 2>&1 &
USER_PID=$!
PIDS+=("$USER_PID")
wait_healthy user-service 9171 "$USER_PID"

cache_env account
WEWORK__DATABASE__URL=$(database_url account) WEWORK__SERVER__GRPC_ADDR=127.0.0.1:50172 \
    WEWORK__SERVER__HTTP_ADDR=127.0.0.1:9172 target/release/account-service >"$TMP/account-service.log" 2>&1 &
ACCOUNT_PID=$!
PIDS+=("$ACCOUNT_PID")
wait_healthy account-service 9172 "$ACCOUNT_PID"
IDLE_RSS=$(rss_kib "$ACCOUNT_PID")

LOGIN_JSON=$(printf '{"tenantCode":"platform","login":"admin","password":"%s"}' "$ADMIN_PASSWORD")
TOKEN=$("$LOADGEN" call --target "$USER_URL" --method wework.user.v1.AuthService/Login --data "$LOGIN_JSON" |
    json_field tokens.accessToken)
AUTH="authorization=Bearer ${TOKEN}"
# The platform tenant holds no accounts by default; give it room for one.
TENANT_ID=$("$LOADGEN" call --target "$USER_URL" --method wework.user.v1.AuthService/WhoAmI --data '{}' -H "$AUTH" |
    json_field tenantId)
"$LOADGEN" call --target "$USER_URL" --method wework.user.v1.TenantService/UpdateTenant \
    --data "{\"tenantId\":\"${TENANT_ID}\",\"maxAccounts\":10}" -H "$AUTH" >/dev/null
ACCOUNT_ID=$("$LOADGEN" call --target "$ACCOUNT_URL" --method wework.account.v1.AccountService/CreateAccount \
    --data '{"accountName":"bench-1","tags":["bench"]}' -H "$AUTH" | json_field id)
log "created account ${ACCOUNT_ID}"

loadgen_run echo "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" "$ACCOUNT_PID"
loadgen_run echo+auth "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" \
    "$ACCOUNT_PID" -H "$AUTH"
loadgen_run GetAccount "$ACCOUNT_URL" wework.account.v1.AccountService/GetAccount "{\"id\":\"${ACCOUNT_ID}\"}" \
    "$CONCURRENCY" "$ACCOUNT_PID" -H "$AUTH"

python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:9172/metrics" >"$TMP/metrics.txt" || true
python3 scripts/lib/bench_table.py "$TMP" "account-service on ${BACKEND}" "$IDLE_RSS" "$(rss_kib "$ACCOUNT_PID")" \
    echo echo+auth GetAccount | tee "${BENCH_OUT:-/dev/null}"
