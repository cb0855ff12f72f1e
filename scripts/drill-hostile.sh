#!/usr/bin/env bash
# npm run drill:hostile [-- --short]: hostile input against the built gateway (see
# test/support/hostile-drill.ts). Starts local Postgres/Redis if needed, builds, runs the drill;
# exits non-zero when any check misses. DRILL_SKIP_BUILD=1 reuses an existing dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
if [ "${DRILL_SKIP_BUILD:-}" != "1" ]; then npm run build --silent; fi
exec node scripts/drill-hostile.mjs "$@"
