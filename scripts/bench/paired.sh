#!/usr/bin/env bash
# Paired latency at concurrency 1 (scripts/bench/paired.mjs): direct, bypass, miss and hit requests
# shuffled together in one client, so the cache's share of a miss is compared under the same noise.
# Gateway on core 1, client and mock on core 0, as in the other benches.
# Usage: bash scripts/bench/paired.sh   Env: ROUNDS (requests of each kind, default 20000),
#        BENCH_KIT (default ../shared/bench), NODE_FLAGS (for the gateway). Output: run/paired/.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=$PWD/run/paired MOCK_PORT=${MOCK_PORT:-18093} GW_PORT=${GW_PORT:-18092}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
start_mock
taskset -p -c 0 "$MOCK" >/dev/null
# shellcheck disable=SC2086 # NODE_FLAGS holds several flags
start_gateway "$GW_PORT" gateway.log ${NODE_FLAGS:-}; GW=${pids[-1]}
taskset -p -c 1 "$GW" >/dev/null
create_tenant "$GW_PORT"
taskset -c 0 node scripts/bench/paired.mjs "http://127.0.0.1:$GW_PORT" "$KEY" \
  "http://127.0.0.1:$MOCK_PORT" "$KIT/bodies/chat.json" "${ROUNDS:-20000}" | tee "$OUT_DIR/paired.md"
