#!/usr/bin/env bash
# npm run bench: gateway overhead against a zero-latency fake upstream, on loopback only.
# Starts the shared kit's mock upstream, the built gateway (real Postgres/Redis, audit on), makes a
# tenant, then runs the kit's load driver (wrk, CPU sampled from /proc) against the upstream
# directly and through the gateway, interleaved over ROUNDS, and prints median tables.
#   BENCH_KIT   path of the bench kit (default ../shared/bench)
#   LEVELS      concurrency levels (default "1 10 100"); DUR seconds per level (default 10)
#   ROUNDS      interleaved rounds (default 3); SCENARIOS (default "bypass miss hit")
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
[ -f "$KIT/overhead.sh" ] || { echo "bench kit not found at $KIT (set BENCH_KIT)" >&2; exit 1; }
LEVELS=${LEVELS:-"1 10 100"} DUR=${DUR:-10} ROUNDS=${ROUNDS:-3} SCENARIOS=${SCENARIOS:-"bypass miss hit"}
MOCK_PORT=${MOCK_PORT:-18081} GW_PORT=${GW_PORT:-18080}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash scripts/ensure-services.sh
[ -f dist/apps/gateway/src/main.js ] || npm run --silent build

OUT_DIR=${OUT_DIR:-$ROOT/run/bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT_DIR"; export BENCH_OUT=$OUT_DIR/results.jsonl
DB=llmgw_bench_$$
ADMIN=bench-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

PORT=$MOCK_PORT MOCK_QUIET=1 node "$KIT/mock-upstream.mjs" & MOCK=$!; pids+=("$MOCK")
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
PORT=$GW_PORT HOST=127.0.0.1 ADMIN_API_KEY=$ADMIN DB_MIGRATE_ON_BOOT=true \
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB REDIS_KEY_PREFIX="bench$$:" \
  OPENAI_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 OPENAI_API_KEY=sk-bench-0000 LOG_LEVEL=${GW_LOG_LEVEL:-info} \
  node ${NODE_PROF:-} dist/apps/gateway/src/main.js > "$OUT_DIR/gateway.log" 2>&1 & GW=$!; pids+=("$GW")
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$GW_PORT/health/live" >/dev/null && break; sleep 0.5; done
KEY=$(curl -sf -X POST "http://127.0.0.1:$GW_PORT/api/v1/admin/tenants" -H "X-API-Key: $ADMIN" \
  -H 'Content-Type: application/json' \
  -d '{"name":"bench","rate_limit":100000000,"monthly_budget":null}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).api_key')

for r in $(seq 1 "$ROUNDS"); do
  "$KIT/overhead.sh" -u "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" -n direct -m "$MOCK" \
    -c "$LEVELS" -d "$DUR" -t "r$r"
  for s in $SCENARIOS; do
    case $s in
      bypass) cc='Cache-Control: no-store' ;;   # auth + limits + budget + provider + audit, no cache
      miss)   cc='Cache-Control: no-cache' ;;   # as bypass, plus storing the answer
      hit)    cc='Cache-Control: max-age=0, private' ;;  # repeated body: answered from the cache
    esac
    "$KIT/overhead.sh" -u "http://127.0.0.1:$GW_PORT/v1/chat/completions" -n "gateway-$s" -p "$GW" -m "$MOCK" \
      -c "$LEVELS" -d "$DUR" -t "r$r" -H "X-API-Key: $KEY" -H "$cc"
  done
done
node "$KIT/summarize.mjs" "" "$BENCH_OUT" | tee "$OUT_DIR/summary.md"
echo "results: $OUT_DIR" >&2
