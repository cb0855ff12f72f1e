#!/usr/bin/env bash
# Legitimate throughput with and without a flood of random keys from one address (the
# failed-authentication throttle, docs/operations.md). Starts the kit's mock upstream and one
# built gateway (free ports, throwaway database), makes a tenant, then alternates ROUNDS times:
#   none   LEGIT connections of the tenant's key for DUR seconds
#   flood  the same, while FLOOD more connections send a random well-formed key on every request
# and prints each round and the medians (legitimate req/s and p99, and the flood's rate).
# The gateway is pinned to CPU 1 and wrk to CPU 0, as the kit's driver does.
# Env: LEGIT (default 10), FLOOD (default 20), DUR (default 10), ROUNDS (default 3), BENCH_KIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
LEGIT=${LEGIT:-10} FLOOD=${FLOOD:-20} DUR=${DUR:-10} ROUNDS=${ROUNDS:-3}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
MOCK_PORT=$(free_port) GW_PORT=$(free_port)
OUT_DIR=${OUT_DIR:-$PWD/run/auth-flood-$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
start_mock
GW_LOG_LEVEL=warn start_gateway "$GW_PORT" gateway.log; GW=${pids[-1]}
taskset -pc 1 "$GW" >/dev/null 2>&1 || true
create_tenant "$GW_PORT"
URL=http://127.0.0.1:$GW_PORT/v1/chat/completions
export BODY_FILE=$KIT/bodies/chat.json

legit() { # one wrk run of the tenant's key; prints its WRKJSON line
  EXTRA_HEADERS=$(printf 'X-API-Key: %s\nCache-Control: no-store' "$KEY") \
    taskset -c 0 wrk -t1 -c"$LEGIT" -d"${DUR}s" --latency -s "$KIT/lib/post.lua" "$URL" | grep '^WRKJSON'
}
wrk -t1 -c"$LEGIT" -d3s -s "$KIT/lib/post.lua" -H "X-API-Key: $KEY" "$URL" >/dev/null # warm-up
results=$OUT_DIR/auth-flood.jsonl
: > "$results"
for r in $(seq 1 "$ROUNDS"); do
  echo "{\"round\":$r,\"phase\":\"none\",\"legit\":$(legit | sed 's/^WRKJSON //')}" >> "$results"
  taskset -c 0 wrk -t1 -c"$FLOOD" -d"$((DUR + 2))s" -s scripts/bench/random-key.lua "$URL" \
    > "$OUT_DIR/flood-$r.txt" &
  flood=$!
  sleep 1
  line=$(legit | sed 's/^WRKJSON //')
  wait "$flood"
  echo "{\"round\":$r,\"phase\":\"flood\",\"legit\":$line,\"flood\":$(grep '^WRKJSON' "$OUT_DIR/flood-$r.txt" | sed 's/^WRKJSON //')}" >> "$results"
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rps = (w) => w.requests / (w.duration_us / 1e6);
for (const r of rows) {
  const f = r.flood ? `  flood ${rps(r.flood).toFixed(0)} req/s (${r.flood.non_2xx} non-2xx of ${r.flood.requests})` : "";
  console.log(`round ${r.round} ${r.phase.padEnd(5)} legit ${rps(r.legit).toFixed(0)} req/s p99 ${(r.legit.p99_us / 1000).toFixed(1)} ms${f}`);
}
for (const phase of ["none", "flood"]) {
  const xs = rows.filter((r) => r.phase === phase);
  console.log(`median ${phase.padEnd(5)} legit ${med(xs.map((r) => rps(r.legit))).toFixed(0)} req/s p99 ${(med(xs.map((r) => r.legit.p99_us)) / 1000).toFixed(1)} ms`);
}' "$results"
echo "results: $results"
