#!/usr/bin/env bash
# Legitimate throughput with and without a flood of random keys from one address (the
# failed-authentication throttle, docs/operations.md). Starts the kit's mock upstream and one
# built gateway (free ports, throwaway database), makes a tenant, then alternates ROUNDS times:
#   none   LEGIT connections of the tenant's key for DUR seconds
#   flood  the same, while FLOOD more connections send a random well-formed key on every request
# and prints each round and the medians: legitimate req/s and p99, the flood's rate, the gateway's
# CPU ms per request (from /proc: steadier than req/s on a shared machine), and at the end how many
# key lookups Postgres served (pg_stat_user_tables, read after the stats are flushed).
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

cpu_ms() { # the gateway's user+system CPU time so far, in ms
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$GW/stat"
}
key_lookups() {
  psql -h 127.0.0.1 -U postgres -d "$DB" -Atc \
    "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables WHERE relname IN ('api_keys', 'admin_keys')"
}
legit() { # one wrk run of the tenant's key; prints its WRKJSON line
  EXTRA_HEADERS=$(printf 'X-API-Key: %s\nCache-Control: no-store' "$KEY") \
    taskset -c 0 wrk -t1 -c"$LEGIT" -d"${DUR}s" --latency -s "$KIT/lib/post.lua" "$URL" | grep '^WRKJSON'
}
wrk -t1 -c"$LEGIT" -d3s -s "$KIT/lib/post.lua" -H "X-API-Key: $KEY" "$URL" >/dev/null # warm-up
results=$OUT_DIR/auth-flood.jsonl
: > "$results"
sleep 11 # let Postgres flush the setup's table statistics
lookups_before=$(key_lookups)
for r in $(seq 1 "$ROUNDS"); do
  c0=$(cpu_ms)
  line=$(legit | sed 's/^WRKJSON //')
  echo "{\"round\":$r,\"phase\":\"none\",\"cpu_ms\":$(($(cpu_ms) - c0)),\"legit\":$line}" >> "$results"
  # The flood runs exactly as long as the legitimate run it overlaps, so the CPU sampled over
  # the legitimate run is shared by both and by nothing else.
  taskset -c 0 wrk -t1 -c"$FLOOD" -d"$((DUR + 1))s" -s scripts/bench/random-key.lua "$URL" \
    > "$OUT_DIR/flood-$r.txt" &
  flood=$!
  sleep 0.5
  c0=$(cpu_ms)
  line=$(legit | sed 's/^WRKJSON //')
  c1=$(cpu_ms)
  wait "$flood"
  echo "{\"round\":$r,\"phase\":\"flood\",\"cpu_ms\":$((c1 - c0)),\"legit\":$line,\"flood\":$(grep '^WRKJSON' "$OUT_DIR/flood-$r.txt" | sed 's/^WRKJSON //')}" >> "$results"
done
sleep 11
echo "{\"key_lookups\":$(($(key_lookups) - lookups_before))}" >> "$results"
node -e '
const all = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const rows = all.filter((r) => r.phase);
const lookups = all.find((r) => "key_lookups" in r).key_lookups;
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rps = (w) => w.requests / (w.duration_us / 1e6);
// CPU per request over everything the gateway answered in the phase (the flood overlapped it all).
const cpuPerReq = (r) => r.cpu_ms / (r.legit.requests + (r.flood ? r.flood.requests * (r.legit.duration_us / r.flood.duration_us) : 0));
for (const r of rows) {
  const f = r.flood ? `  flood ${rps(r.flood).toFixed(0)} req/s (${r.flood.non_2xx} non-2xx of ${r.flood.requests})` : "";
  console.log(`round ${r.round} ${r.phase.padEnd(5)} legit ${rps(r.legit).toFixed(0)} req/s p99 ${(r.legit.p99_us / 1000).toFixed(1)} ms, gateway ${cpuPerReq(r).toFixed(2)} CPU ms/req${f}`);
}
for (const phase of ["none", "flood"]) {
  const xs = rows.filter((r) => r.phase === phase);
  console.log(`median ${phase.padEnd(5)} legit ${med(xs.map((r) => rps(r.legit))).toFixed(0)} req/s p99 ${(med(xs.map((r) => r.legit.p99_us)) / 1000).toFixed(1)} ms, gateway ${med(xs.map(cpuPerReq)).toFixed(2)} CPU ms/req`);
}
const floodTotal = rows.reduce((n, r) => n + (r.flood ? r.flood.requests : 0), 0);
console.log(`Postgres key lookups during the run: ${lookups} (flood requests: ${floodTotal})`);' "$results"
echo "results: $results"
