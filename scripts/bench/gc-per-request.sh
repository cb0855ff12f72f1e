#!/usr/bin/env bash
# Young-generation GC per request, by scenario, at c = 1 (docs/BENCHMARKS.md, "The cache on a miss").
# Starts the kit's mock and one built gateway (node flags from NODE_FLAGS, e.g.
# "--max-semi-space-size=64" or "--trace-gc-nvp"; its log goes to run/gc-per-request/gateway.log), then for each of
# bypass (no-store), miss (a distinct seed per request) and hit runs wrk for 8 s at one connection
# and reads nodejs_gc_duration_seconds{kind="minor"} from /metrics before and after (after an
# 8 s warm-up run, printed as "warm").
# Usage: bash scripts/bench/gc-per-request.sh   Env: BENCH_KIT (default ../shared/bench), NODE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=$PWD/run/gc-per-request MOCK_PORT=${MOCK_PORT:-18091} GW_PORT=${GW_PORT:-18090}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
start_mock
# shellcheck disable=SC2086 # NODE_FLAGS holds several flags
start_gateway "$GW_PORT" gateway.log ${NODE_FLAGS:-}; GW=${pids[-1]}
create_tenant "$GW_PORT"
taskset -p -c 1 $GW >/dev/null
gc() { curl -sf http://127.0.0.1:$GW_PORT/metrics | awk '/^nodejs_gc_duration_seconds_(sum|count)\{kind="minor"\}/{print $2}' | paste -sd' '; }
UL=$(mktemp --suffix=.lua); cat "$KIT/lib/post.lua" scripts/bench/unique-body.lua > "$UL"
for s in warm bypass miss hit; do
  cc=no-store; script=$KIT/lib/post.lua
  [ $s = miss ] && { cc='max-age=0'; script=$UL; }
  [ $s = hit ] && cc='max-age=0'
  read -r sum0 n0 <<<"$(gc)"
  out=$(BODY_FILE=$KIT/bodies/chat.json taskset -c 0 wrk --latency -t1 -c1 -d8 -s $script -H "X-API-Key: $KEY" -H "Cache-Control: $cc" -H 'Content-Type: application/json' http://127.0.0.1:$GW_PORT/v1/chat/completions 2>&1)
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  read -r sum1 n1 <<<"$(gc)"
  node -e "const [s0,n0,s1,n1,r]=process.argv.slice(1).map(Number);console.log('$s', 'req', r, 'minorGC', n1-n0, 'per1000req', ((n1-n0)/r*1000).toFixed(1), 'avg ms', ((s1-s0)/(n1-n0)*1000).toFixed(2), 'gc ms/req', ((s1-s0)/r*1000).toFixed(3))" $sum0 $n0 $sum1 $n1 $reqs
  echo "$out" | grep -E " (50|90|99)%" | tr -s ' ' | paste -sd' '
done
