#!/usr/bin/env bash
# npm run bench: gateway overhead against a zero-latency fake upstream, on loopback only.
# Starts the shared kit's mock upstream and two built gateways on real Postgres/Redis with audit on
# (one normal, one with admission replaced by a no-op through scripts/bench/admission-off.cjs, to
# price admission), makes a tenant with every limit and a budget set, then runs the kit's load
# driver (wrk; CPU sampled from /proc) against the upstream directly and through the gateway,
# interleaved over ROUNDS, and prints median tables. Scenarios (all POST /v1/chat/completions):
#   noadm   admission off, cache off (Cache-Control: no-store): auth, provider call, audit record
#   bypass  as noadm with admission on: request + token limits and a budget reservation/settlement
#   miss    admission on, a distinct body each request: cache lookup misses, provider call, store
#   hit     admission on, the same body each time: answered from the cache
#   stream  streamed requests (stream: true, no-store) at STREAM_LEVELS, straight to the mock and
#           through the gateway: added time to first byte, every stream checked whole and in order
#           (scripts/bench/stream.mjs); then the same at c=STREAM_CPU_LEVEL through a second gateway
#           whose mock streams STREAM_LONG_TOKENS chunks, so the CPU of one more chunk is the
#           difference of CPU per stream divided by the difference of chunks per stream
#   breakdown  where a lone request's time goes: bypass, miss and hit at c=1 through a third
#           gateway run with METRICS_REQUEST_STAGES=true, each followed by its per-stage table
#           (body, auth, admission, provider, record, respond: mean, p50, p90) from /metrics
#           (scripts/bench/stage-breakdown.mjs); rows also go to OUT_DIR/breakdown.jsonl
#   base-node, base-nest   floors measured in the same sitting: a bare node:http + undici
#           passthrough and a bare NestJS passthrough (scripts/bench/baselines/), no auth or records
# The direct, noadm and bypass targets also run open loop at fixed RATES (added p50 below
# saturation; closed loop at c=10 saturates the one pinned core, so its p50 is mostly queueing).
# Env:
#   BENCH_KIT   path of the bench kit (default ../shared/bench)
#   LEVELS      concurrency levels (default "1 10 50 100"); DUR seconds per level (default 10)
#   RATES       fixed request rates for the open-loop runs (default "200 1000"; "" = none)
#   ROUNDS      interleaved rounds (default 3)
#   SCENARIOS   default "base-node base-nest noadm bypass miss hit breakdown stream"
#   STREAM_LEVELS (default "1 50 200"), STREAM_CPU_LEVEL (default 50), STREAM_LONG_TOKENS (default 256)
#   NODE_PROF   extra node flags for the admission-on gateway, e.g. "--cpu-prof --cpu-prof-dir=run/prof"
set -euo pipefail
cd "$(dirname "$0")/.."
LEVELS=${LEVELS:-"1 10 50 100"} DUR=${DUR:-10} ROUNDS=${ROUNDS:-3} RATES=${RATES-"200 1000"}
SCENARIOS=${SCENARIOS:-"base-node base-nest noadm bypass miss hit breakdown stream"}
STREAM_LEVELS=${STREAM_LEVELS:-"1 50 200"} STREAM_CPU_LEVEL=${STREAM_CPU_LEVEL:-50}
STREAM_LONG_TOKENS=${STREAM_LONG_TOKENS:-256}
MOCK_PORT=${MOCK_PORT:-18081} GW_PORT=${GW_PORT:-18080} GW_OFF_PORT=${GW_OFF_PORT:-18082}
BASE_NODE_PORT=${BASE_NODE_PORT:-18083} BASE_NEST_PORT=${BASE_NEST_PORT:-18084}
OUT_DIR=${OUT_DIR:-$PWD/run/bench-$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
export BENCH_OUT=$OUT_DIR/results.jsonl
# The kit's driver with a body that changes every request (for the miss scenario).
UKIT=$OUT_DIR/kit-unique
rm -rf "$UKIT"; cp -r "$KIT" "$UKIT"; cat scripts/bench/unique-body.lua >> "$UKIT/lib/post.lua"
start_mock
# shellcheck disable=SC2086 # NODE_PROF holds several flags
start_gateway "$GW_PORT" gateway.log ${NODE_PROF:-}; GW=${pids[-1]}
start_gateway "$GW_OFF_PORT" gateway-noadm.log -r "$ROOT/scripts/bench/admission-off.cjs"; GW_OFF=${pids[-1]}
start_baseline() { # port script
  PORT=$1 UPSTREAM=http://127.0.0.1:$MOCK_PORT node "$ROOT/scripts/bench/baselines/$2" \
    > "$OUT_DIR/${2%.cjs}.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 60); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data-binary "@$KIT/bodies/chat.json" "http://127.0.0.1:$1/v1/chat/completions")" = 200 ] && return 0
    sleep 0.5
  done
  echo "baseline $2 did not start; see $OUT_DIR" >&2; exit 1
}
start_baseline "$BASE_NODE_PORT" node-passthrough.cjs; BASE_NODE=${pids[-1]}
start_baseline "$BASE_NEST_PORT" nest-passthrough.cjs; BASE_NEST=${pids[-1]}
create_tenant "$GW_PORT"

run() { # kit name url pid cache-control
  "$1/overhead.sh" -u "$3" -n "$2" -p "$4" -m "$MOCK" -c "$LEVELS" -d "$DUR" -t "r$r" \
    -H "X-API-Key: $KEY" -H "Cache-Control: $5"
}
run_rates() { # name url pid cache-control: the same target open loop at each of RATES
  [ -n "$RATES" ] || return 0
  "$KIT/overhead.sh" -u "$2" -n "$1" -p "$3" -m "$MOCK" -r "$RATES" -d "$DUR" -t "r$r" \
    -H "X-API-Key: $KEY" -H "Cache-Control: $4"
}
# The breakdown scenario's gateway (stage timings on), started on first use.
GW_STAGES_PORT=$((GW_PORT + 20)) GW_STAGES=
breakdown_round() { # round
  if [ -z "$GW_STAGES" ]; then
    METRICS_REQUEST_STAGES=true start_gateway "$GW_STAGES_PORT" gateway-stages.log; GW_STAGES=${pids[-1]}
  fi
  local gw=http://127.0.0.1:$GW_STAGES_PORT/v1/chat/completions s kit cc
  for s in bypass miss hit; do
    case $s in bypass) kit=$KIT cc=no-store ;; miss) kit=$UKIT cc='max-age=0, private' ;; hit) kit=$KIT cc='max-age=0, private' ;; esac
    # The kit's warm-up runs at c=10: warm up apart (not recorded), then take c=1 alone.
    BENCH_OUT=$OUT_DIR/warmup.jsonl "$kit/overhead.sh" -u "$gw" -n warmup -p "$GW_STAGES" -m "$MOCK" \
      -c 1 -d 2 -w 3 -t "r$1" -H "X-API-Key: $KEY" -H "Cache-Control: $cc" > /dev/null
    curl -sf "http://127.0.0.1:$GW_STAGES_PORT/metrics" > "$OUT_DIR/stages-$s-r$1-before.txt"
    "$kit/overhead.sh" -u "$gw" -n "gateway-stages-$s" -p "$GW_STAGES" -m "$MOCK" -c 1 -d "$DUR" \
      -w 0 -t "r$1" -H "X-API-Key: $KEY" -H "Cache-Control: $cc"
    curl -sf "http://127.0.0.1:$GW_STAGES_PORT/metrics" > "$OUT_DIR/stages-$s-r$1-after.txt"
    BREAKDOWN_OUT=$OUT_DIR/breakdown.jsonl node scripts/bench/stage-breakdown.mjs \
      "$OUT_DIR/stages-$s-r$1-before.txt" "$OUT_DIR/stages-$s-r$1-after.txt" "$s r$1" |
      tee -a "$OUT_DIR/breakdown.md"
  done
}
# The streaming scenario's second mock (longer answers) and its gateway, started on first use.
LONG_MOCK_PORT=$((MOCK_PORT + 10)) GW_LONG_PORT=$((GW_PORT + 10)) GW_LONG=
stream_round() { # round
  if [ -z "$GW_LONG" ]; then
    PORT=$LONG_MOCK_PORT MOCK_QUIET=1 MOCK_COMPLETION_TOKENS=$STREAM_LONG_TOKENS node "$KIT/mock-upstream.mjs" &
    pids+=("$!")
    MOCK_PORT=$LONG_MOCK_PORT start_gateway "$GW_LONG_PORT" gateway-long.log; GW_LONG=${pids[-1]}
  fi
  node scripts/bench/stream.mjs "http://127.0.0.1:$GW_PORT" "$KEY" "http://127.0.0.1:$MOCK_PORT" \
    "$GW" "$STREAM_LEVELS" "$DUR" "$1" short | tee -a "$OUT_DIR/stream.jsonl"
  node scripts/bench/stream.mjs "http://127.0.0.1:$GW_LONG_PORT" "$KEY" "http://127.0.0.1:$LONG_MOCK_PORT" \
    "$GW_LONG" "$STREAM_CPU_LEVEL" "$DUR" "$1" long | tee -a "$OUT_DIR/stream.jsonl"
}
direct=http://127.0.0.1:$MOCK_PORT/v1/chat/completions
for r in $(seq 1 "$ROUNDS"); do
  "$KIT/overhead.sh" -u "$direct" -n direct -m "$MOCK" -c "$LEVELS" -d "$DUR" -t "r$r"
  [ -z "$RATES" ] || "$KIT/overhead.sh" -u "$direct" -n direct -m "$MOCK" -r "$RATES" -d "$DUR" -t "r$r"
  for s in $SCENARIOS; do
    gw=http://127.0.0.1:$GW_PORT/v1/chat/completions
    noadm=http://127.0.0.1:$GW_OFF_PORT/v1/chat/completions
    case $s in
      base-node) "$KIT/overhead.sh" -u "http://127.0.0.1:$BASE_NODE_PORT/v1/chat/completions" \
                   -n base-node -p "$BASE_NODE" -m "$MOCK" -c "$LEVELS" -d "$DUR" -t "r$r" ;;
      base-nest) "$KIT/overhead.sh" -u "http://127.0.0.1:$BASE_NEST_PORT/v1/chat/completions" \
                   -n base-nest -p "$BASE_NEST" -m "$MOCK" -c "$LEVELS" -d "$DUR" -t "r$r" ;;
      noadm)  run "$KIT" gateway-noadm "$noadm" "$GW_OFF" no-store
              run_rates gateway-noadm "$noadm" "$GW_OFF" no-store ;;
      bypass) run "$KIT" gateway-bypass "$gw" "$GW" no-store
              run_rates gateway-bypass "$gw" "$GW" no-store ;;
      miss)   # one level at a time, to read the cache's own Redis time per level from /metrics
              for c in $LEVELS; do
                before=$OUT_DIR/metrics-miss-r$r-c$c-before.txt after=$OUT_DIR/metrics-miss-r$r-c$c-after.txt
                curl -sf "http://127.0.0.1:$GW_PORT/metrics" > "$before"
                LEVELS=$c run "$UKIT" gateway-miss "$gw" "$GW" 'max-age=0, private'
                curl -sf "http://127.0.0.1:$GW_PORT/metrics" > "$after"
                node scripts/bench/histogram-quantiles.mjs "$before" "$after" \
                  llm_gateway_cache_operation_duration_seconds operation |
                  sed "s/^/round $r, c=$c: /" | tee -a "$OUT_DIR/cache-operations.txt"
              done ;;
      hit)    run "$KIT" gateway-hit "$gw" "$GW" 'max-age=0, private' ;;
      stream) stream_round "$r" ;;
      breakdown) breakdown_round "$r" ;;
      *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
  done
done
node "$KIT/summarize.mjs" "" "$BENCH_OUT" | tee "$OUT_DIR/summary.md"
if [ -f "$OUT_DIR/cache-operations.txt" ]; then
  echo; echo "cache lookup time (on a miss also the lock attempt) during the miss scenario (per round and level):"; cat "$OUT_DIR/cache-operations.txt"
fi
if [ -f "$OUT_DIR/breakdown.md" ]; then
  echo; echo "where a lone request's time goes (c=1, per round):"; cat "$OUT_DIR/breakdown.md"
fi
if [ -f "$OUT_DIR/stream.jsonl" ]; then
  echo; echo "streaming (medians over rounds):"
  node scripts/bench/stream-summary.mjs "$OUT_DIR/stream.jsonl" "$STREAM_CPU_LEVEL" | tee "$OUT_DIR/stream-summary.md"
fi
echo "results: $OUT_DIR" >&2
