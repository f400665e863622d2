#!/usr/bin/env bash
# A throwaway three-shard Redis Cluster on loopback, for the test pass that
# runs the suite against a cluster (scripts/test.sh, .ci/run) and for trying
# `cache.redis_cluster` by hand. Nothing is persisted.
#
#   scripts/redis-cluster.sh start   # prints the seed list for WEWORK_TEST_REDIS_URL
#   scripts/redis-cluster.sh stop
#
# Ports: REDIS_CLUSTER_PORT (default 7101) and the next two.
set -euo pipefail

base=${REDIS_CLUSTER_PORT:-7101}
ports=("$base" "$((base + 1))" "$((base + 2))")
dir=${REDIS_CLUSTER_DIR:-/tmp/wework-redis-cluster-$base}

seeds() {
    local list="" port
    for port in "${ports[@]}"; do list+="${list:+,}redis://127.0.0.1:$port"; done
    printf '%s\n' "$list"
}

cluster_ok() { redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

stop() {
    local port
    for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$dir"
}

start() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
        echo "redis-server/redis-cli not installed" >&2
        return 1
    }
    if cluster_ok; then
        seeds
        return 0
    fi
    stop
    mkdir -p "$dir"
    local port i
    for port in "${ports[@]}"; do
        mkdir -p "$dir/$port"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir/$port" \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
            --save "" --appendonly no --logfile "$dir/$port/redis.log" >/dev/null
    done
    for port in "${ports[@]}"; do
        for ((i = 0; i < 50; i++)); do
            [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
            sleep 0.1
        done
    done
    local nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 || {
        cat "$dir/create.log" >&2
        return 1
    }
    # Slots are assigned at once; the nodes agree on the state a moment later.
    for ((i = 0; i < 100; i++)); do
        if cluster_ok; then
            seeds
            return 0
        fi
        sleep 0.1
    done
    echo "redis cluster did not reach cluster_state:ok" >&2
    return 1
}

case ${1:-} in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
