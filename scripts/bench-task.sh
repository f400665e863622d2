#!/usr/bin/env bash
# Benchmarks the task center end to end — create over gRPC → delivered to a
# local HTTP sink — with 1 and then 2 worker replicas on one database, beside
# the bare echo RPC measured in the same run, and prints a markdown table
# (create/s, delivered/s, due → first attempt p50/p99, duplicates, RSS).
#
#   scripts/bench-task.sh                  # SQLite file (WAL), shared by the replicas
#   BACKEND=mysql scripts/bench-task.sh    # a throwaway MariaDB database + Redis
#
# Knobs (env): TASKS=20000 CONCURRENCY=64 CONNECTIONS=4 BATCH=<k: BatchCreateTasks × k>
# REPLICAS="1 2" (replica counts to run, in increasing order; replicas are
# added, never restarted) TIMEOUT=300s ECHO_DURATION=10s GRPC_PORT=30155
# HTTP_PORT=9155 (replica k listens on GRPC_PORT+k-1, HTTP_PORT+k-1)
# ECHO_PORT=30199 MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root
# REDIS_URL=redis://127.0.0.1:6379 BENCH_OUT=<file to also write the table to>
# BENCH_LOGS=<dir to keep the logs, JSON reports and /metrics scrapes in>
# BUILD=0 (use the binaries already in target/release) KEEP=1 (leave the data,
# database and Redis keys behind for inspection; processes are still stopped).
# The default ports sit below the ephemeral range (32768+): a run opens
# thousands of short connections, whose local ports could otherwise take a
# replica's port before it starts. Everything listens on 127.0.0.1;
# processes, data, the database and the Redis keys are removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BACKEND=${BACKEND:-sqlite}
TASKS=${TASKS:-20000}
CONCURRENCY=${CONCURRENCY:-64}
CONNECTIONS=${CONNECTIONS:-4}
BATCH=${BATCH:-}
REPLICAS=${REPLICAS:-1 2}
TIMEOUT=${TIMEOUT:-300s}
ECHO_DURATION=${ECHO_DURATION:-10s}
GRPC_PORT=${GRPC_PORT:-30155}
HTTP_PORT=${HTTP_PORT:-9155}
ECHO_PORT=${ECHO_PORT:-30199}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
MYSQL_USER=${MYSQL_USER:-root}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

LOADGEN=target/release/loadgen
SERVICE=target/release/task-service
RAND=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

log() { printf '[bench] %s\n' "$*" >&2; }

TMP=$(mktemp -d)
PIDS=()
MYSQL_DB=""
REDIS_PREFIX=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "${BENCH_LOGS:-}" ]]; then
        mkdir -p "$BENCH_LOGS" && cp -r "$TMP"/*.log "$TMP"/*.json "$TMP"/*.txt "$BENCH_LOGS"/ 2>/dev/null || true
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then
        log "KEEP=1: left ${TMP}${MYSQL_DB:+, database ${MYSQL_DB}}${REDIS_PREFIX:+, Redis keys ${REDIS_PREFIX}*} in place"
        return
    fi
    if [[ -n "$MYSQL_DB" ]]; then
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "DROP DATABASE IF EXISTS \`$MYSQL_DB\`" || true
    fi
    if [[ -n "$REDIS_PREFIX" ]]; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building release binaries (task-service, loadgen)"
    cargo build --release --locked --bin task-service --bin loadgen
fi

# Every replica gets the same settings but its ports and worker id. The user
# service is never contacted: callers here hold service tokens (HS256 with
# the internal secret), which need no signing keys.
INTERNAL_SECRET="bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export WEWORK__AUTH__INTERNAL_SECRET="$INTERNAL_SECRET"
export WEWORK__AUTH__DATA_DIR="$TMP"
export WEWORK__AUTH__USER_SERVICE_URL="http://127.0.0.1:9"
export WEWORK__DELIVERY__ALLOW_LOOPBACK=true
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"
case "$BACKEND" in
    sqlite)
        export WEWORK__DATABASE__URL="sqlite://${TMP}/task.db?mode=rwc"
        ;;
    mysql)
        MYSQL_DB="bench_task_${RAND}"
        REDIS_PREFIX="bench:${RAND}:"
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

rss() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# User + system CPU time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# "busy total" ticks of the whole machine: anything else running skews a run, so the table shows it.
box_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# A local MariaDB's CPU shows where the database half of the time goes.
DB_PID=""
if [[ "$BACKEND" == mysql && "$MYSQL_HOST" =~ ^(127\.|localhost$) ]]; then
    DB_PID=$(pidof mariadbd || pidof mysqld || true)
fi
http_ok() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null
}
scrape() {
    python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
        "$1" >"$2" 2>/dev/null || true
}

# The ceiling, first, alone on the machine; then the echo server goes away.
log "echo baseline (${ECHO_DURATION}, concurrency ${CONCURRENCY} over ${CONNECTIONS} connections)"
"$LOADGEN" echo-server --addr "127.0.0.1:${ECHO_PORT}" >"$TMP/echo.log" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
for ((i = 0; i < 50; i++)); do
    if grep -qs listening "$TMP/echo.log"; then break; fi
    sleep 0.1
done
"$LOADGEN" run --echo --target "http://127.0.0.1:${ECHO_PORT}" --concurrency "$CONCURRENCY" \
    --connections "$CONNECTIONS" --duration "$ECHO_DURATION" --warmup 2s --json >"$TMP/echo.json" ||
    log "the echo baseline had no successful call"
kill "$ECHO_PID" 2>/dev/null || true

# start_replica K: starts replica K, waits for /readyz, records its idle RSS.
REPLICA_PIDS=()
TARGETS=()
start_replica() {
    local k=$1 grpc=$((GRPC_PORT + $1 - 1)) http=$((HTTP_PORT + $1 - 1)) pid
    WEWORK__SERVER__GRPC_ADDR="127.0.0.1:${grpc}" WEWORK__SERVER__HTTP_ADDR="127.0.0.1:${http}" \
        WEWORK__WORKER__WORKER_ID="r${k}" "$SERVICE" >"$TMP/task-service-r${k}.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    log "waiting for task-service replica r${k} (${BACKEND}, pid ${pid}) to be ready"
    for ((i = 0; i < 120; i++)); do
        if http_ok "http://127.0.0.1:${http}/readyz"; then break; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "replica r${k} exited during start-up; its log:"
            cat "$TMP/task-service-r${k}.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    if ! http_ok "http://127.0.0.1:${http}/readyz"; then
        log "replica r${k} not ready after 60 s; its log:"
        cat "$TMP/task-service-r${k}.log" >&2
        exit 1
    fi
    sleep 1 # let start-up allocations settle before reading idle memory
    echo "$(rss "$pid" VmRSS)" >"$TMP/idle-r${k}.txt"
    REPLICA_PIDS+=("$pid")
    TARGETS+=(--target "http://127.0.0.1:${grpc}")
}

FAILED=0
for n in $REPLICAS; do
    while ((${#REPLICA_PIDS[@]} < n)); do start_replica $((${#REPLICA_PIDS[@]} + 1)); done
    log "run: ${TASKS} tasks, ${n} replica(s), concurrency ${CONCURRENCY}${BATCH:+, batches of ${BATCH}}"
    cpu_before=()
    for pid in "${REPLICA_PIDS[@]}"; do cpu_before+=("$(cpu_ticks "$pid")"); done
    db_before=$([[ -n "$DB_PID" ]] && cpu_ticks "$DB_PID" || echo 0)
    read -r box_busy box_total < <(box_ticks)
    if ! LOADGEN_INTERNAL_SECRET="$INTERNAL_SECRET" "$LOADGEN" webhooks "${TARGETS[@]}" --tasks "$TASKS" \
        --concurrency "$CONCURRENCY" --connections "$CONNECTIONS" ${BATCH:+--batch "$BATCH"} --timeout "$TIMEOUT" \
        --run-id "${RAND}-r${n}" >"$TMP/run-${n}.json" 2> >(tee "$TMP/run-${n}.log" >&2); then
        log "run with ${n} replica(s) did not deliver every task"
        FAILED=1
    fi
    read -r busy total < <(box_ticks)
    db_cpu=$([[ -n "$DB_PID" ]] && echo $(($(cpu_ticks "$DB_PID") - db_before)) || echo "")
    echo "$((busy - box_busy)) $((total - box_total)) ${db_cpu}" >"$TMP/box-${n}.txt"
    mem=()
    for ((k = 1; k <= n; k++)); do
        pid=${REPLICA_PIDS[k - 1]}
        cpu=$(($(cpu_ticks "$pid") - cpu_before[k - 1]))
        mem+=("$(cat "$TMP/idle-r${k}.txt"):$(rss "$pid" VmRSS):$(rss "$pid" VmHWM):${cpu}")
        scrape "http://127.0.0.1:$((HTTP_PORT + k - 1))/metrics" "$TMP/metrics-${n}-r${k}.txt"
    done
    echo "${mem[*]}" >"$TMP/mem-${n}.txt"
done

python3 - "$TMP" "$BACKEND" "$(nproc)" "$REPLICAS" "$(getconf CLK_TCK)" <<'PY' | tee "${BENCH_OUT:-/dev/null}"
import json, os, sys
tmp, backend, cores, replicas, hz = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), int(sys.argv[5])
def load(name):
    try:
        with open(os.path.join(tmp, name)) as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None
echo = load("echo.json")
echo_rps = f"{echo['ok_rps']:.0f}" if echo else "failed"
mib = lambda kib: f"{int(kib) / 1024:.1f}"
label = "SQLite" if backend == "sqlite" else "MariaDB+Redis"
print(f"\n### task-service on {label} ({cores} cores; loadgen, its sink and every replica share them)\n")
print("| backend | replicas | tasks | create/s | delivered/s | due→attempt p50 ms | p99 ms | duplicates "
      "| RSS idle MiB | RSS after MiB (VmRSS/VmHWM) | service CPU s | DB CPU s | box busy % | echo req/s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: |")
for n in replicas:
    r = load(f"run-{n}.json")
    try:
        mem = [m.split(":") for m in open(os.path.join(tmp, f"mem-{n}.txt")).read().split()]
    except OSError:
        mem = []
    idle = ", ".join(mib(m[0]) for m in mem)
    after = ", ".join(f"{mib(m[1])}/{mib(m[2])}" for m in mem)
    cpu = ", ".join(f"{int(m[3]) / hz:.1f}" for m in mem)
    try:
        box = open(os.path.join(tmp, f"box-{n}.txt")).read().split()
    except OSError:
        box = []
    busy = f"{100 * int(box[0]) / int(box[1]):.0f}" if len(box) >= 2 and int(box[1]) else ""
    db = f"{int(box[2]) / hz:.1f}" if len(box) >= 3 else ""
    if r is None:
        print(f"| {label} | {n} | | failed | | | | | {idle} | {after} | {cpu} | {db} | {busy} | {echo_rps} |")
        continue
    d = r["due_to_attempt_ms"]
    note = "" if r["missing"] == 0 and not r["timed_out"] else f" ({r['missing']} missing)"
    print(f"| {label} | {n} | {r['created']} | {r['create_rps']:.0f} | {r['delivered_rps']:.0f}{note} "
          f"| {d['p50']:.1f} | {d['p99']:.1f} | {r['duplicates']} | {idle} | {after} | {cpu} | {db} | {busy} | {echo_rps} |")
    for code, e in r["create_errors"].items():
        print(f"|   create error {code} | | {e['count']} | e.g. {e['sample'][:60]} | | | | | | | | | | |")
mode = "CreateTask"
first = load(f"run-{replicas[0]}.json") if replicas else None
if first and first.get("batch"):
    mode = f"BatchCreateTasks × {first['batch']}"
if first:
    print(f"\ncreates: {mode}, concurrency {first['concurrency']} over {first['connections']} connection(s) "
          f"spread over the replicas; delivered/s = tasks / (first create → last delivery); due = the task's "
          f"scheduled_at (creation time), attempt = the sink's receipt; service CPU = user + system time of each "
          f"replica during the run (DB CPU: the local mariadbd's); box busy = all cores, every process, during the run "
          f"(well above what loadgen, the replicas and the database account for means something else was running).")
PY
exit "$FAILED"
