#!/usr/bin/env bash
# Memory with many concurrent streams on one instance: a built gateway against an upstream whose
# streams last (EVENTS chunks EVENT_MS apart, scripts/bench/slow-sse-upstream.mjs), STREAMS streamed
# requests at once, half of them slow readers; prints idle and peak RSS and what each stream added.
# Env: STREAMS (default 1000), EVENTS (20), EVENT_MS (100), SLOW_PAUSE_MS (1500), MOCK_PORT, GW_PORT.
set -euo pipefail
cd "$(dirname "$0")/../.."
STREAMS=${STREAMS:-1000} EVENTS=${EVENTS:-40} MOCK_PORT=${MOCK_PORT:-18091} GW_PORT=${GW_PORT:-18090}
OUT_DIR=${OUT_DIR:-$PWD/run/stream-rss-$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck source=scripts/bench/setup.sh
source scripts/bench/setup.sh
PORT=$MOCK_PORT EVENTS=$EVENTS node scripts/bench/slow-sse-upstream.mjs & pids+=("$!")
# Leave the stream its time: TIMEOUT is per event, not per stream.
GW_LOG_LEVEL=warn start_gateway "$GW_PORT" gateway.log; GW=${pids[-1]}
# No budget or token limit: this measures the streams' memory, not admission under a burst.
KEY=$(curl -sf -X POST "http://127.0.0.1:$GW_PORT/api/v1/admin/tenants" -H "X-API-Key: $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"rss","rate_limit":1000000,"monthly_budget":null}' |
  node -pe 'JSON.parse(require("fs").readFileSync(0)).api_key')
# Warm-up (JIT, pools), then the measured burst.
node scripts/bench/stream-rss.mjs "http://127.0.0.1:$GW_PORT" "$KEY" "$GW" 50 > /dev/null
node scripts/bench/stream-rss.mjs "http://127.0.0.1:$GW_PORT" "$KEY" "$GW" "$STREAMS" | tee "$OUT_DIR/stream-rss.json"
