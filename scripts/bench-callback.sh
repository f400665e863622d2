#!/usr/bin/env bash
# Benchmarks the callback service: ingest acknowledgements/s with p50/p99 ack
# latency (baseline: GET /healthz on the same port, same run), and callback →
# tenant webhook latency at a fixed rate with the processor, the account,
# message and task services and a webhook receiver all running.
#
# Everything runs in one release test process (tests/it/bench.rs), on the
# machine's cores: the services, the load and the receiver.
#
#   scripts/bench-callback.sh                 # SQLite + in-process cache
#   BACKEND=mysql scripts/bench-callback.sh   # throwaway MariaDB databases + Redis
#
# Knobs (env): BENCH_SECS=10 BENCH_RATE=200 (callbacks/s of the latency run)
# MYSQL_URL=mysql://root@127.0.0.1:3306/test REDIS_URL=redis://127.0.0.1:6379
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BACKEND=${BACKEND:-sqlite}
export BENCH_SECS=${BENCH_SECS:-10}
export BENCH_RATE=${BENCH_RATE:-200}
if [[ "$BACKEND" == mysql ]]; then
    export WEWORK_TEST_MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
    export WEWORK_TEST_REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
else
    unset WEWORK_TEST_MYSQL_URL WEWORK_TEST_REDIS_URL
fi
export RUST_LOG=${RUST_LOG:-error}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); backend: $BACKEND" >&2
exec cargo test --release --locked -p callback-service --test it bench:: -- --ignored --nocapture --test-threads=1
