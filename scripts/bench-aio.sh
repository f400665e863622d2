#!/usr/bin/env bash
# Start-up, memory and demo time of the release all-in-one `wework` (SQLite,
# dev profile, simulator on), as a newcomer meets it, in a fresh temp dir:
#
#   1. first start on an empty data dir: seconds until the gateway's /healthz
#      answers and the banner is printed; RSS after IDLE seconds idle; SIGINT
#   2. restart on the same data: the same figures; then
#   3. `wework demo --batch-size 1000` against it: its total time, RSS after it; SIGINT
#
# Every stop is a SIGINT that must end the process with exit code 0 within 15 s.
# Prints a markdown table.
#
# Knobs (env): IDLE=10 (seconds) BATCH=1000 BUILD=1 BENCH_OUT=<file to also write
# the table to>, KEEP=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

BACKEND=sqlite
IDLE=${IDLE:-10}
BATCH=${BATCH:-1000}
WEWORK=$ROOT/target/release/wework

source scripts/lib/bench.sh

if [[ "${BUILD:-1}" != 0 ]]; then
    log "building the release all-in-one"
    cargo build --release --locked --bin wework
fi
ports_free "${AIO_PORTS[@]}"
unset WEWORK_CONFIG_DIR WEWORK__DATABASE__URL WEWORK__BOOTSTRAP__ADMIN_PASSWORD WEWORK_ADMIN_PASSWORD
export WEWORK__LOG__LEVEL="${WEWORK__LOG__LEVEL:-warn}"
mkdir -p "$TMP/aio"
FAILED=0
ROWS=()

# start NAME → sets AIO_PID and READY_S; the platform's own "started in" figure goes to BANNER_S.
start() {
    local name=$1 start
    start=$(now_ns)
    (cd "$TMP/aio" && exec "$WEWORK") >"$TMP/${name}.log" 2>&1 &
    AIO_PID=$!
    PIDS+=("$AIO_PID")
    READY_S=$(wait_aio_ready "$TMP/${name}.log" "$AIO_PID" "$start")
    BANNER_S=$(sed -n 's/.*started in \([0-9.]*\) s.*/\1/p' "$TMP/${name}.log" | head -n1)
    log "${name}: ready after ${READY_S} s (banner: started in ${BANNER_S} s)"
}

# stop NAME → SIGINT; sets STOP to the exit code and how long the stop took.
stop() {
    local name=$1 pid keep=()
    stop_sigint "$AIO_PID" 15
    for pid in "${PIDS[@]}"; do [[ "$pid" == "$AIO_PID" ]] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
    STOP="exit ${STOP_RC} after ${STOP_MS} ms"
    log "${name}: SIGINT → ${STOP}"
    if [[ "$STOP_RC" != 0 ]]; then
        log "${name}: did not exit 0 within 15 s of SIGINT; the end of its log:"
        tail -n 30 "$TMP/${name}.log" >&2
        FAILED=1
    fi
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

start first-start
sleep "$IDLE"
IDLE_RSS=$(rss_kib "$AIO_PID")
[[ -s "$TMP/aio/data/admin-password" ]] || { log "no data/admin-password after the first start"; FAILED=1; }
stop first-start
ROWS+=("| first start (empty data dir) | ${READY_S} | ${BANNER_S} | $(mib "$IDLE_RSS") | | | ${STOP} |")

start restart
sleep "$IDLE"
IDLE_RSS=$(rss_kib "$AIO_PID")
log "demo --batch-size ${BATCH}"
DEMO_START=$(now_ns)
if (cd "$TMP/aio" && "$WEWORK" demo --batch-size "$BATCH") >"$TMP/demo.log" 2>&1; then
    DEMO_WALL=$(awk -v s="$DEMO_START" -v e="$(now_ns)" 'BEGIN {printf "%.1f", (e - s) / 1e9}')
    DEMO_S=$(sed -n 's/^Demo finished in \([0-9.]*\) s\./\1/p' "$TMP/demo.log")
    DEMO="${DEMO_S} s (wall ${DEMO_WALL} s)"
else
    log "the demo failed; its output:"
    tail -n 30 "$TMP/demo.log" >&2
    DEMO="failed"
    FAILED=1
fi
DEMO_RSS=$(rss_kib "$AIO_PID")
PEAK_RSS=$(awk '/^VmHWM:/ {print $2}' "/proc/${AIO_PID}/status")
stop restart
ROWS+=("| restart (same data) | ${READY_S} | ${BANNER_S} | $(mib "$IDLE_RSS") | ${DEMO} | $(mib "$DEMO_RSS") (peak $(mib "$PEAK_RSS")) | ${STOP} |")

{
    echo
    echo "### all-in-one wework, release, SQLite ($(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); dev profile, simulator on)"
    echo
    echo "| run | ready s (healthz + banner) | banner \"started in\" s | idle RSS MiB after ${IDLE} s | demo --batch-size ${BATCH} | RSS MiB after demo | SIGINT stop |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
    printf '%s\n' "${ROWS[@]}"
} | tee "${BENCH_OUT:-/dev/null}"
exit "$FAILED"
