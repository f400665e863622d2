#!/usr/bin/env bash
# Benchmarks the message service, in one run, against the bare echo RPC:
#   1. SendMessage accepted + persisted (the dispatcher is off, so only the
#      accept path is measured: validation, account check, quota, group commit);
#   2. CreateBatch of a 100,000-row CSV import (time, service peak RSS).
# Prints a markdown table (req/s, p50, p99, ratio, RSS) and the batch numbers,
# and counts the rows really stored.
#
#   scripts/bench-message.sh                  # SQLite files + in-process cache
#   BACKEND=mysql scripts/bench-message.sh    # throwaway MariaDB databases + Redis
#
# Knobs (env): DURATION=10s WARMUP=2s CONCURRENCY=64 CONNECTIONS=4 BUILD=1 ROWS=100000
# MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root REDIS_URL=redis://127.0.0.1:6379
# BENCH_OUT=<file to also write the table to>, KEEP=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-4}
ROWS=${ROWS:-100000}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
LOADGEN=target/release/loadgen
USER_URL=http://127.0.0.1:50181
ACCOUNT_URL=http://127.0.0.1:50182
MESSAGE_URL=http://127.0.0.1:50183
ECHO_URL=http://127.0.0.1:50189
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

source scripts/lib/bench.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building release binaries (user-service, account-service, message-service, loadgen)"
    cargo build --release --locked --bin user-service --bin account-service --bin message-service --bin loadgen
fi

export WEWORK__AUTH__DATA_DIR="$TMP"
export WEWORK__AUTH__USER_SERVICE_URL="$USER_URL"
export WEWORK__BOOTSTRAP__ADMIN_PASSWORD="$ADMIN_PASSWORD"
export WEWORK__INTEGRATIONS__TASK_SERVICE_URL=""
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"

"$LOADGEN" echo-server --addr "127.0.0.1:50189" >"$TMP/echo.log" 2>&1 &
PIDS+=("$!")

cache_env user
WEWORK__DATABASE__URL=$(database_url user) WEWORK__SERVER__GRPC_ADDR=127.0.0.1:50181 \
    WEWORK__SERVER__HTTP_ADDR=127.0.0.1:9181 target/release/user-service >"$TMP/user-service.log" 2>&1 &
USER_PID=$!
PIDS+=("$USER_PID")
wait_healthy user-service 9181 "$USER_PID"

cache_env account
WEWORK__DATABASE__URL=$(database_url account) WEWORK__SERVER__GRPC_ADDR=127.0.0.1:50182 \
    WEWORK__SERVER__HTTP_ADDR=127.0.0.1:9182 WEWORK__WATCHDOG__ENABLED=false \
    target/release/account-service >"$TMP/account-service.log" 2>&1 &
ACCOUNT_PID=$!
PIDS+=("$ACCOUNT_PID")
wait_healthy account-service 9182 "$ACCOUNT_PID"

cache_env message
MESSAGE_DB=$(database_url message)
WEWORK__DATABASE__URL=$MESSAGE_DB WEWORK__SERVER__GRPC_ADDR=127.0.0.1:50183 \
    WEWORK__SERVER__HTTP_ADDR=127.0.0.1:9183 WEWORK__INTEGRATIONS__ACCOUNT_SERVICE_URL="$ACCOUNT_URL" \
    WEWORK__DISPATCH__ENABLED=false WEWORK__RETENTION__ENABLED=false \
    target/release/message-service >"$TMP/message-service.log" 2>&1 &
MESSAGE_PID=$!
PIDS+=("$MESSAGE_PID")
wait_healthy message-service 9183 "$MESSAGE_PID"
IDLE_RSS=$(rss_kib "$MESSAGE_PID")

LOGIN_JSON=$(printf '{"tenantCode":"platform","login":"admin","password":"%s"}' "$ADMIN_PASSWORD")
TOKEN=$("$LOADGEN" call --target "$USER_URL" --method wework.user.v1.AuthService/Login --data "$LOGIN_JSON" |
    json_field tokens.accessToken)
AUTH="authorization=Bearer ${TOKEN}"
TENANT_ID=$("$LOADGEN" call --target "$USER_URL" --method wework.user.v1.AuthService/WhoAmI --data '{}' -H "$AUTH" |
    json_field tenantId)
# Room for the whole run in the platform tenant's quotas.
"$LOADGEN" call --target "$USER_URL" --method wework.user.v1.TenantService/UpdateTenant \
    --data "{\"tenantId\":\"${TENANT_ID}\",\"maxAccounts\":10,\"maxDailyMessages\":100000000}" -H "$AUTH" >/dev/null
ACCOUNT_ID=$("$LOADGEN" call --target "$ACCOUNT_URL" --method wework.account.v1.AccountService/CreateAccount \
    --data '{"accountName":"bench-1"}' -H "$AUTH" | json_field id)
log "created account ${ACCOUNT_ID}"

SEND_JSON="{\"accountId\":\"${ACCOUNT_ID}\",\"conversationId\":\"wmBench\",\"chatType\":\"CHAT_TYPE_PRIVATE\",\"content\":{\"text\":{\"text\":\"hello from the bench\"}}}"
loadgen_run echo "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" "$MESSAGE_PID"
loadgen_run echo+auth "$ECHO_URL" wework.bench.v1.EchoService/Echo '{"message":"ping"}' "$CONCURRENCY" \
    "$MESSAGE_PID" -H "$AUTH"
loadgen_run SendMessage "$MESSAGE_URL" wework.message.v1.MessageService/SendMessage "$SEND_JSON" \
    "$CONCURRENCY" "$MESSAGE_PID" -H "$AUTH"

STORED=$("$LOADGEN" call --target "$MESSAGE_URL" --method wework.message.v1.MessageService/GetStatistics \
    --data "{\"fromDate\":\"$(date -u +%F)\",\"toDate\":\"$(date -u +%F)\"}" -H "$AUTH" | python3 -c 'import json,sys; print(sum(int(r.get("total", 0)) for r in json.load(sys.stdin).get("rows", [])))')
ACCEPTED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$TMP/SendMessage.json" 2>/dev/null || echo "?")

python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:9183/metrics" >"$TMP/metrics.txt" || true
python3 scripts/lib/bench_table.py "$TMP" "message-service on ${BACKEND}" "$IDLE_RSS" "$(rss_kib "$MESSAGE_PID")" \
    echo echo+auth SendMessage | tee "${BENCH_OUT:-/dev/null}"
echo "messages stored per the statistics: ${STORED} (accepted in the measured window + warm-up: ${ACCEPTED} + warm-up)" |
    tee -a "${BENCH_OUT:-/dev/null}"

# --- a 100,000-receiver batch from an imported CSV --------------------------
python3 - "$ROWS" "$ACCOUNT_ID" >"$TMP/batch.json" <<'PY'
import json, sys
rows, account = int(sys.argv[1]), sys.argv[2]
csv = "conversation_id,name\n" + "".join(f"wmBench{i:07d},Customer {i}\n" for i in range(rows))
print(json.dumps({"name": "bench batch", "accountId": account,
                  "content": {"text": {"text": "hello"}}, "targets": {"import": {"csv": csv}}}))
PY
HWM_BEFORE=$(awk '/^VmHWM:/ {print $2}' "/proc/${MESSAGE_PID}/status")
RSS_BEFORE=$(rss_kib "$MESSAGE_PID")
log "CreateBatch with ${ROWS} imported receivers"
start_ns=$(date +%s%N)
BATCH_OUT=$("$LOADGEN" call --target "$MESSAGE_URL" --method wework.message.v1.BatchService/CreateBatch \
    --data "@$TMP/batch.json" -H "$AUTH")
end_ns=$(date +%s%N)
HWM_AFTER=$(awk '/^VmHWM:/ {print $2}' "/proc/${MESSAGE_PID}/status")
TOTAL=$(echo "$BATCH_OUT" | json_field batch.totalCount)
python3 - "$ROWS" "$TOTAL" "$start_ns" "$end_ns" "$RSS_BEFORE" "$HWM_BEFORE" "$HWM_AFTER" <<'PY' | tee -a "${BENCH_OUT:-/dev/null}"
import sys
rows, total, s, e, rss, hwm0, hwm1 = sys.argv[1:]
secs = (int(e) - int(s)) / 1e9
print(f"\nCreateBatch, {rows}-row CSV import: {secs:.2f} s ({int(total) / secs:,.0f} receivers/s), "
      f"total_count {total}; service RSS before {int(rss) / 1024:.1f} MiB, "
      f"peak RSS {int(hwm0) / 1024:.1f} → {int(hwm1) / 1024:.1f} MiB")
PY
