#!/usr/bin/env bash
# A/B of node flags in one sitting: two gateways side by side on one database and one mock, A
# without flags and B with FLAGS_B, measured alternately (which goes first alternates too) at the
# levels in LEVELS, so both see the same machine drift. Compare pair by pair, then take medians.
# Usage: FLAGS_B="--use-largepages=on" bash scripts/bench/flags-ab.sh
# Env: FLAGS_B (required), SCEN (bypass | hit, default bypass), ROUNDS (default 6), DUR (s, default
#      6), LEVELS (default 1), BENCH_KIT (default ../shared/bench). Output: run/flags-ab/.
#      PAIRED=N: instead of wrk runs, ROUNDS runs of scripts/bench/paired-ab.mjs, N requests per
#      side, alternating A and B request by request (the finer pairing for a noisy host).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${FLAGS_B:?set FLAGS_B to the node flags of gateway B}"
OUT_DIR=$PWD/run/flags-ab MOCK_PORT=${MOCK_PORT:-18191}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
start_mock
start_gateway 18190 gateway-a.log; A=${pids[-1]}
# shellcheck disable=SC2086 # FLAGS_B holds several flags
start_gateway 18192 gateway-b.log $FLAGS_B; B=${pids[-1]}
create_tenant 18190
cc=no-store; [ "${SCEN:-bypass}" = hit ] && cc='max-age=0, private'
if [ -n "${PAIRED:-}" ]; then
  # As overhead.sh pins: the gateways (every thread) on core 1, the mock and the client on core 0.
  taskset -a -p -c 1 "$A" >/dev/null; taskset -a -p -c 1 "$B" >/dev/null; taskset -a -p -c 0 "$MOCK" >/dev/null
  for i in $(seq 1 "${ROUNDS:-6}"); do
    taskset -c 0 node scripts/bench/paired-ab.mjs "http://127.0.0.1:18190" "$A" "http://127.0.0.1:18192" \
      "$B" "$KEY" "$KIT/bodies/chat.json" "$PAIRED" "$cc" | sed "s/^/r$i /"
  done
  exit 0
fi
for i in $(seq 1 "${ROUNDS:-6}"); do
  order="A B"; [ $((i % 2)) = 0 ] && order="B A"
  for side in $order; do
    port=18190 pid=$A; [ "$side" = B ] && port=18192 pid=$B
    BENCH_OUT=$OUT_DIR/results.jsonl "$KIT/overhead.sh" -u "http://127.0.0.1:$port/v1/chat/completions" \
      -n "$side" -p "$pid" -m "$MOCK" -c "${LEVELS:-1}" -d "${DUR:-6}" -w 2 -t "r$i" \
      -H "X-API-Key: $KEY" -H "Cache-Control: $cc" 2>&1 | grep -E "^(A|B) "
  done
done
