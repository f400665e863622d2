#!/usr/bin/env bash
# The project's test command (the README and CI run this).
#
# Pass 1 always runs: the whole workspace on the embedded default (SQLite,
# in-process cache), with the server URLs removed from the environment.
# Pass 2 runs the workspace again when WEWORK_TEST_MYSQL_URL and/or
# WEWORK_TEST_REDIS_URL are set, so every store and cache test also meets a
# real MariaDB/MySQL and Redis.
# Pass 3 runs it once more when WEWORK_TEST_REDIS_CLUSTER_URL lists the seeds
# of a Redis Cluster (scripts/redis-cluster.sh start prints them): SQLite and
# the cluster, so every cache, counter, script and pub/sub path meets shards.
# Arguments replace the default `--workspace` and go to every pass:
# `scripts/test.sh -p user-service login`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mysql_url="${WEWORK_TEST_MYSQL_URL:-}"
redis_url="${WEWORK_TEST_REDIS_URL:-}"
cluster_url="${WEWORK_TEST_REDIS_CLUSTER_URL:-}"

banner() { printf '\n==== %s ====\n' "$*"; }

args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then args=(--workspace); fi

banner "tests, pass 1/3: SQLite + in-process cache"
start=$SECONDS
env -u WEWORK_TEST_MYSQL_URL -u WEWORK_TEST_REDIS_URL -u WEWORK_TEST_REDIS_CLUSTER \
    cargo test --all-features "${args[@]}"
echo "pass 1 took $((SECONDS - start)) s"

if [[ -z "$mysql_url" && -z "$redis_url" ]]; then
    banner "tests, pass 2/3 SKIPPED: neither WEWORK_TEST_MYSQL_URL nor WEWORK_TEST_REDIS_URL is set"
else
    banner "tests, pass 2/3: MySQL=${mysql_url:-<unset>} Redis=${redis_url:-<unset>}"
    start=$SECONDS
    env -u WEWORK_TEST_REDIS_CLUSTER cargo test --all-features "${args[@]}"
    echo "pass 2 took $((SECONDS - start)) s"
fi

if [[ -z "$cluster_url" ]]; then
    banner "tests, pass 3/3 SKIPPED: WEWORK_TEST_REDIS_CLUSTER_URL is not set (scripts/redis-cluster.sh start)"
    exit 0
fi
banner "tests, pass 3/3: SQLite + Redis Cluster ${cluster_url}"
start=$SECONDS
env -u WEWORK_TEST_MYSQL_URL WEWORK_TEST_REDIS_URL="$cluster_url" WEWORK_TEST_REDIS_CLUSTER=1 \
    cargo test --all-features "${args[@]}"
echo "pass 3 took $((SECONDS - start)) s"
