#!/usr/bin/env bash
# Young-generation GC per request, by scenario, at c = 1 (docs/BENCHMARKS.md, "The cache on a miss").
# Starts the kit's mock and one built gateway (node flags from NODE_FLAGS, e.g.
# "--max-semi-space-size=64" or "--trace-gc-nvp"; its log goes to run/gc-gw.log), then for each of
# bypass (no-store), miss (a distinct seed per request) and hit runs wrk for 8 s at one connection
# and reads nodejs_gc_duration_seconds{kind="minor"} from /metrics before and after (after an
# 8 s warm-up run, printed as "warm").
# Usage: bash scripts/bench/gc-per-request.sh   Env: BENCH_KIT (default ../shared/bench), NODE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=${BENCH_KIT:-$PWD/../shared/bench}
mkdir -p run
[ -f dist/apps/gateway/src/main.js ] || npm run --silent build
DB=llmgw_gc_$$; ADMIN=gc-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
PORT=18091 MOCK_QUIET=1 node $KIT/mock-upstream.mjs & MOCK=$!
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
PORT=18090 HOST=127.0.0.1 ADMIN_API_KEY=$ADMIN DB_MIGRATE_ON_BOOT=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB \
  REDIS_KEY_PREFIX="gc$$:" OPENAI_BASE_URL=http://127.0.0.1:18091/v1 OPENAI_API_KEY=sk-x LOG_LEVEL=info \
  node ${NODE_FLAGS:-} dist/apps/gateway/src/main.js > run/gc-gw.log 2>&1 & GW=$!
trap 'kill $MOCK $GW 2>/dev/null; wait 2>/dev/null; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null' EXIT
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18090/health/live >/dev/null && break; sleep 0.5; done
KEY=$(curl -sf -X POST http://127.0.0.1:18090/api/v1/admin/tenants -H "X-API-Key: $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name":"gc","rate_limit":1000000,"tokens_per_minute":1000000000,"monthly_budget":900000}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).api_key')
taskset -p -c 1 $GW >/dev/null
gc() { curl -sf http://127.0.0.1:18090/metrics | awk '/^nodejs_gc_duration_seconds_(sum|count)\{kind="minor"\}/{print $2}' | paste -sd' '; }
UL=$(mktemp --suffix=.lua); cat "$KIT/lib/post.lua" scripts/bench/unique-body.lua > "$UL"
for s in warm bypass miss hit; do
  cc=no-store; script=$KIT/lib/post.lua
  [ $s = miss ] && { cc='max-age=0'; script=$UL; }
  [ $s = hit ] && cc='max-age=0'
  read -r sum0 n0 <<<"$(gc)"
  out=$(BODY_FILE=$KIT/bodies/chat.json taskset -c 0 wrk --latency -t1 -c1 -d8 -s $script -H "X-API-Key: $KEY" -H "Cache-Control: $cc" -H 'Content-Type: application/json' http://127.0.0.1:18090/v1/chat/completions 2>&1)
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  read -r sum1 n1 <<<"$(gc)"
  node -e "const [s0,n0,s1,n1,r]=process.argv.slice(1).map(Number);console.log('$s', 'req', r, 'minorGC', n1-n0, 'per1000req', ((n1-n0)/r*1000).toFixed(1), 'avg ms', ((s1-s0)/(n1-n0)*1000).toFixed(2), 'gc ms/req', ((s1-s0)/r*1000).toFixed(3))" $sum0 $n0 $sum1 $n1 $reqs
  echo "$out" | grep -E " (50|90|99)%" | tr -s ' ' | paste -sd' '
done
