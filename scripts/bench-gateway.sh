#!/usr/bin/env bash
# Benchmarks the REST gateway of the all-in-one `wework`: a cached read
# (GetAccount) through the gateway against the same RPC called directly over
# gRPC, with both transports' bare baselines measured in the same run, and
# prints a markdown table (req/s, p50, p99, ratios, the platform's RSS).
#
#   (a) echo                 bare tonic echo (`loadgen echo-server`): the gRPC ceiling
#   (b) healthz              GET /healthz on the gateway's API port: HTTP/1.1 + the
#                            gateway's front door, no auth, no backend call
#   (c) grpc-GetAccount      wework.account.v1.AccountService/GetAccount on 127.0.0.1:50052
#   (d) gateway-GetAccount   GET /api/v1/accounts/{id} on 127.0.0.1:8080, same token
#   (e) gateway-GetAccount@80%  (d) open loop at 80 % of (d)'s closed-loop rate
#
#   scripts/bench-gateway.sh                  # SQLite files under the platform's ./data
#   BACKEND=mysql scripts/bench-gateway.sh    # throwaway MariaDB database per service + Redis
#
# The gateway's per-IP (200/s) and per-principal (100/s) token buckets would
# answer most of the load with 429, so this run raises both; everything else
# is the all-in-one's defaults (dev profile, simulator on).
#
# Knobs (env): DURATION=10s WARMUP=2s CONCURRENCY=64 CONNECTIONS=4 (gRPC runs) BUILD=1
# OPEN_LOOP=1 (run e) PRINCIPAL_SHARED=true MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root
# REDIS_URL=redis://127.0.0.1:6379 (REDIS_CLUSTER=1 with a cluster's seeds, comma separated)
# BENCH_OUT=<file to also write the table to>,
# KEEP=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-4}
OPEN_LOOP=${OPEN_LOOP:-1}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
LOADGEN=$ROOT/target/release/loadgen
WEWORK=$ROOT/target/release/wework
API=http://127.0.0.1:8080
ACCOUNT_URL=http://127.0.0.1:50052
ECHO_ADDR=127.0.0.1:50189
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

source scripts/lib/bench.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building release binaries (wework, loadgen)"
    cargo build --release --locked --bin wework --bin loadgen
fi
ports_free "${AIO_PORTS[@]}" "${ECHO_ADDR##*:}"

"$LOADGEN" echo-server --addr "$ECHO_ADDR" >"$TMP/echo.log" 2>&1 &
PIDS+=("$!")

aio_backend_config "$TMP/config"
export WEWORK__BOOTSTRAP__ADMIN_PASSWORD="$ADMIN_PASSWORD"
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"
export WEWORK__GATEWAY__PER_IP_RPS=1000000 WEWORK__GATEWAY__PER_IP_BURST=1000000
export WEWORK__GATEWAY__PER_PRINCIPAL_RPS=1000000 WEWORK__GATEWAY__PER_PRINCIPAL_BURST=1000000
# PRINCIPAL_SHARED=false measures the gateway without the Redis round trip of
# the shared per-principal limit (only differs on BACKEND=mysql, with Redis).
export WEWORK__GATEWAY__PER_PRINCIPAL_SHARED=${PRINCIPAL_SHARED:-true}
mkdir -p "$TMP/aio"
START=$(now_ns)
(cd "$TMP/aio" && exec "$WEWORK") >"$TMP/wework.log" 2>&1 &
AIO_PID=$!
PIDS+=("$AIO_PID")
# Assigned first: a failed start then stops this script (set -e), not only the `$(…)`.
READY_S=$(wait_aio_ready "$TMP/wework.log" "$AIO_PID" "$START")
log "all-in-one (pid ${AIO_PID}) ready after ${READY_S} s"

# The platform admin creates a tenant and its admin; the load runs as that tenant's user.
ADMIN_TOKEN=$(api POST "$API/api/v1/auth/login" "" \
    "{\"tenant_code\":\"platform\",\"login\":\"admin\",\"password\":\"${ADMIN_PASSWORD}\"}" | json_field tokens.access_token)
TENANT_CODE="bench$$"
TENANT_ID=$(api POST "$API/api/v1/tenants" "$ADMIN_TOKEN" \
    "{\"tenant_code\":\"${TENANT_CODE}\",\"name\":\"Bench Co\",\"max_accounts\":10}" | json_field id)
api POST "$API/api/v1/users" "$ADMIN_TOKEN" "{\"tenant_id\":\"${TENANT_ID}\",\"username\":\"bench\",
    \"email\":\"bench@${TENANT_CODE}.example\",\"display_name\":\"Bench\",\"password\":\"${ADMIN_PASSWORD}\",
    \"roles\":[\"admin\"]}" >/dev/null
TOKEN=$(api POST "$API/api/v1/auth/login" "" \
    "{\"tenant_code\":\"${TENANT_CODE}\",\"login\":\"bench\",\"password\":\"${ADMIN_PASSWORD}\"}" | json_field tokens.access_token)
ACCOUNT_ID=$(api POST "$API/api/v1/accounts" "$TOKEN" '{"account_name":"bench"}' | json_field id)
log "tenant ${TENANT_CODE} (${TENANT_ID}), account ${ACCOUNT_ID}"
IDLE_RSS=$(rss_kib "$AIO_PID")

loadgen_run echo "http://${ECHO_ADDR}" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" "$AIO_PID"
loadgen_http healthz "$API/healthz" "$CONCURRENCY" "$AIO_PID"
loadgen_run grpc-GetAccount "$ACCOUNT_URL" wework.account.v1.AccountService/GetAccount "{\"id\":\"${ACCOUNT_ID}\"}" \
    "$CONCURRENCY" "$AIO_PID" -H "authorization=Bearer ${TOKEN}"
loadgen_http gateway-GetAccount "$API/api/v1/accounts/${ACCOUNT_ID}" "$CONCURRENCY" "$AIO_PID" \
    -H "authorization: Bearer ${TOKEN}"
RUNS=(echo healthz grpc-GetAccount gateway-GetAccount)
if [[ "$OPEN_LOOP" != 0 ]]; then
    RATE=$(python3 -c 'import json, sys; print(round(0.8 * json.load(open(sys.argv[1]))["ok_rps"]))' \
        "$TMP/gateway-GetAccount.json" 2>/dev/null || echo 0)
    if [[ "$RATE" -gt 0 ]]; then
        loadgen_http "gateway-GetAccount@80%" "$API/api/v1/accounts/${ACCOUNT_ID}" "$CONCURRENCY" "$AIO_PID" \
            -H "authorization: Bearer ${TOKEN}" --rate "$RATE"
        RUNS+=("gateway-GetAccount@80%")
    fi
fi

curl -fsS "http://127.0.0.1:9050/metrics" >"$TMP/metrics.txt" 2>/dev/null || true
{
    echo
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); backend: ${BACKEND};" \
        "duration ${DURATION} after ${WARMUP} warm-up; gRPC over ${CONNECTIONS} HTTP/2 connections, HTTP/1.1 one per caller"
    python3 scripts/lib/bench_table.py "$TMP" "gateway (all-in-one wework) on ${BACKEND}" "$IDLE_RSS" \
        "$(rss_kib "$AIO_PID")" "${RUNS[@]}"
    python3 - "$TMP" <<'PY'
import json, os, sys
def rps(name):
    try:
        return json.load(open(os.path.join(sys.argv[1], name + ".json")))["ok_rps"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
d, c, b = rps("gateway-GetAccount"), rps("grpc-GetAccount"), rps("healthz")
ratio = lambda x, y: f"{x / y:.2f}" if y else "n/a"
print(f"gateway GetAccount / direct gRPC GetAccount: {ratio(d, c)}; gateway GetAccount / gateway /healthz: {ratio(d, b)}")
PY
} | tee "${BENCH_OUT:-/dev/null}"
