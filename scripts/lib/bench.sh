# Shared plumbing of the bench scripts (sourced, not run): a temp dir and
# process list cleaned up on exit, the backend's database/Redis per run,
# health waits, RSS, and one loadgen run. Callers set BACKEND, the MYSQL_*
# and REDIS_URL knobs (REDIS_CLUSTER=1 when REDIS_URL lists a Redis Cluster's
# seeds), and LOADGEN.

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
    # Databases made by `$(database_url …)` in a subshell never reach
    # MYSQL_DBS; their names carry this shell's pid ($$ is the same there).
    if [[ "${BACKEND:-sqlite}" == mysql ]]; then
        while read -r db; do
            [[ -n "$db" ]] && MYSQL_DBS+=("$db")
        done < <(mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -N \
            -e "SHOW DATABASES LIKE 'wework\\_bench\\_%\\_$$'" 2>/dev/null || true)
    fi
    for db in "${MYSQL_DBS[@]}"; do
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "DROP DATABASE IF EXISTS \`$db\`" || true
    done
    if [[ -n "$REDIS_PREFIX" ]]; then
        # Each node of a cluster lists (and deletes) the keys it owns.
        local node
        for node in ${REDIS_URL//,/ }; do
            redis-cli -u "$node" --scan --pattern "${REDIS_PREFIX}*" | xargs -r redis-cli -u "$node" del >/dev/null || true
        done
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
        if [[ "${REDIS_CLUSTER:-0}" != 0 ]]; then export WEWORK__CACHE__REDIS_CLUSTER=true; fi
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

# --- The all-in-one `wework` (bench-gateway.sh, bench-aio.sh) -----------------

# Every fixed port the all-in-one listens on (gateway API + ops, the five
# services' gRPC + ops, the simulator).
AIO_PORTS=(8080 9050 50051 50052 50053 50054 50055 9051 9052 9053 9054 9055 7070)

# ports_free PORT... — fails, naming them, when any port already accepts connections
# (another platform would answer our health checks).
ports_free() {
    local busy
    busy=$(python3 -c 'import socket, sys
busy = []
for p in sys.argv[1:]:
    s = socket.socket(); s.settimeout(0.3)
    if s.connect_ex(("127.0.0.1", int(p))) == 0: busy.append(p)
    s.close()
print(" ".join(busy))' "$@")
    if [[ -n "$busy" ]]; then
        log "ports already in use on 127.0.0.1: ${busy} (is another platform running?)"
        return 1
    fi
}

# aio_backend_config DIR — on the mysql backend writes DIR/<service>.toml with a
# fresh database per service and Redis under a per-run, per-service key prefix,
# and exports WEWORK_CONFIG_DIR=DIR (env vars would give every service of the
# one process the same database). On sqlite: nothing; the all-in-one keeps its
# own files under ./data.
aio_backend_config() {
    local dir=$1 svc
    unset WEWORK__DATABASE__URL WEWORK__CACHE__REDIS_URL WEWORK__CACHE__KEY_PREFIX
    [[ "$BACKEND" == sqlite ]] && return 0
    [[ "$BACKEND" == mysql ]] || { log "BACKEND must be sqlite or mysql, not '$BACKEND'"; exit 2; }
    mkdir -p "$dir"
    REDIS_PREFIX="bench-$$:"
    # REDIS_CLUSTER=1: REDIS_URL lists a Redis Cluster's seeds (scripts/redis-cluster.sh start).
    local cluster=false
    [[ "${REDIS_CLUSTER:-0}" != 0 ]] && cluster=true
    for svc in user account message callback task; do
        # Not `$(database_url …)`: a subshell would lose its MYSQL_DBS entry, and the cleanup with it.
        database_url "$svc" >"$dir/.url"
        printf '[database]\nurl = "%s"\n\n[cache]\nredis_url = "%s"\nredis_cluster = %s\nkey_prefix = "%s%s:"\n' \
            "$(<"$dir/.url")" "$REDIS_URL" "$cluster" "$REDIS_PREFIX" "$svc" >"$dir/${svc}-service.toml"
    done
    rm -f "$dir/.url"
    printf '[cache]\nredis_url = "%s"\nredis_cluster = %s\nkey_prefix = "%sgateway:"\n' \
        "$REDIS_URL" "$cluster" "$REDIS_PREFIX" >"$dir/gateway.toml"
    export WEWORK_CONFIG_DIR="$dir"
    log "mysql backend: databases ${MYSQL_DBS[*]}; Redis keys under ${REDIS_PREFIX}"
}

now_ns() { date +%s%N; }

# wait_aio_ready LOG PID START_NS — polls every 20 ms (up to 120 s) until the
# gateway's /healthz answers 200 and LOG holds the start-up banner; prints the
# seconds since START_NS. Exits with the log if the process dies first.
wait_aio_ready() {
    local logfile=$1 pid=$2 start=$3
    if ! python3 - "$logfile" "$pid" "$start" <<'PY'; then
import os, sys, time, urllib.request
logfile, pid, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + 120
healthy = banner = False
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    if not healthy:
        try:
            healthy = urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=1).status == 200
        except OSError:
            pass
    if not banner:
        with open(logfile, errors="replace") as f:
            banner = "WeWork platform is running" in f.read()
    if healthy and banner:
        print(f"{(time.time_ns() - start) / 1e9:.3f}")
        sys.exit(0)
    time.sleep(0.02)
sys.exit(1)
PY
        log "the all-in-one did not come up (healthz + banner); its log:"
        cat "$logfile" >&2
        exit 1
    fi
}

# stop_sigint PID [TIMEOUT_S] — SIGINT, then waits up to TIMEOUT_S (15) for the
# exit. Sets STOP_RC (the exit code, or "timeout" — then it SIGKILLs) and
# STOP_MS. Call it in this shell, not in `$(…)`: only the parent can wait for
# PID and learn its exit code.
stop_sigint() {
    local pid=$1 limit=${2:-15} start i
    start=$(now_ns)
    STOP_RC=timeout
    kill -INT "$pid"
    for ((i = 0; i < limit * 20; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            STOP_RC=0
            wait "$pid" || STOP_RC=$?
            break
        fi
        sleep 0.05
    done
    if [[ "$STOP_RC" == timeout ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    STOP_MS=$((($(now_ns) - start) / 1000000))
}

# api METHOD URL [TOKEN] [JSON] — one JSON request with python's urllib;
# prints the answer, fails with the status and body on a non-2xx.
api() {
    python3 - "$@" <<'PY'
import json, sys, urllib.error, urllib.request
method, url = sys.argv[1], sys.argv[2]
token = sys.argv[3] if len(sys.argv) > 3 else ""
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=body, method=method)
if token:
    req.add_header("Authorization", "Bearer " + token)
if body is not None:
    req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stderr.write(f"{method} {url} -> {e.code}: {e.read().decode()[:500]}\n")
    sys.exit(1)
PY
}

# loadgen_http NAME URL CONCURRENCY PID [extra loadgen args...] → $TMP/NAME.json
loadgen_http() {
    local name=$1 url=$2 concurrency=$3 pid=$4
    shift 4
    log "run: ${name} (HTTP/1.1, concurrency ${concurrency}, ${DURATION})"
    if ! "$LOADGEN" http --url "$url" --concurrency "$concurrency" --duration "$DURATION" --warmup "$WARMUP" \
        --pid "$pid" --json "$@" >"$TMP/${name}.json"; then
        log "run ${name} had no successful request"
    fi
}
