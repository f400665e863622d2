#!/usr/bin/env bash
# The project's test command (the README and CI run this).
#
# Pass 1 always runs: the whole workspace on the embedded default (SQLite,
# in-process cache), with the server URLs removed from the environment.
# Pass 2 runs the workspace again when WEWORK_TEST_MYSQL_URL and/or
# WEWORK_TEST_REDIS_URL are set, so every store and cache test also meets a
# real MariaDB/MySQL and Redis. Arguments replace the default `--workspace`
# and go to both runs: `scripts/test.sh -p user-service login`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mysql_url="${WEWORK_TEST_MYSQL_URL:-}"
redis_url="${WEWORK_TEST_REDIS_URL:-}"

banner() { printf '\n==== %s ====\n' "$*"; }

args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then args=(--workspace); fi

banner "tests, pass 1/2: SQLite + in-process cache"
start=$SECONDS
env -u WEWORK_TEST_MYSQL_URL -u WEWORK_TEST_REDIS_URL cargo test --all-features "${args[@]}"
echo "pass 1 took $((SECONDS - start)) s"

if [[ -z "$mysql_url" && -z "$redis_url" ]]; then
    banner "tests, pass 2/2 SKIPPED: neither WEWORK_TEST_MYSQL_URL nor WEWORK_TEST_REDIS_URL is set"
    exit 0
fi

banner "tests, pass 2/2: MySQL=${mysql_url:-<unset>} Redis=${redis_url:-<unset>}"
start=$SECONDS
cargo test --all-features "${args[@]}"
echo "pass 2 took $((SECONDS - start)) s"
