# Sourced by scripts/bench.sh and scripts/bench/gc-per-request.sh (from the repository root, after
# `set -euo pipefail`): what every bench needs around the gateway. The caller sets OUT_DIR (logs go
# there) and MOCK_PORT first, then calls start_mock, start_gateway and create_tenant; everything
# started is stopped, and the throwaway database dropped, on exit.
ROOT=$PWD
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
[ -f "$KIT/overhead.sh" ] || { echo "bench kit not found at $KIT (set BENCH_KIT)" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash scripts/ensure-services.sh
[ -f dist/apps/gateway/src/main.js ] || npm run --silent build
mkdir -p "$OUT_DIR"

DB=llmgw_bench_$$
ADMIN=bench-admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""

start_mock() { # the kit's zero-latency upstream on MOCK_PORT; sets MOCK
  PORT=$MOCK_PORT MOCK_QUIET=1 node "$KIT/mock-upstream.mjs" &
  MOCK=$!; pids+=("$MOCK")
}
wait_live() {
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$1/health/live" >/dev/null && return 0; sleep 0.5; done
  echo "gateway on :$1 did not start; see $OUT_DIR" >&2; exit 1
}
start_gateway() { # port log [node flags...]: a built gateway on the throwaway database and the mock
  local port=$1 log=$2; shift 2
  PORT=$port HOST=127.0.0.1 ADMIN_API_KEY=$ADMIN DB_MIGRATE_ON_BOOT=true \
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB REDIS_KEY_PREFIX="bench$$:" \
    AUDIT_SPOOL_DIR="$OUT_DIR/audit-spool-$port" \
    OPENAI_BASE_URL=http://127.0.0.1:$MOCK_PORT/v1 OPENAI_API_KEY=sk-bench-0000 \
    LOG_LEVEL=${GW_LOG_LEVEL:-info} node "$@" dist/apps/gateway/src/main.js > "$OUT_DIR/$log" 2>&1 &
  pids+=("$!")
  wait_live "$port"
}
create_tenant() { # port: a tenant with every limit and a budget set (so admission does all its work); sets KEY
  KEY=$(curl -sf -X POST "http://127.0.0.1:$1/api/v1/admin/tenants" -H "X-API-Key: $ADMIN" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","rate_limit":1000000,"tokens_per_minute":1000000000,"monthly_budget":900000}' |
    node -pe 'JSON.parse(require("fs").readFileSync(0)).api_key')
}
