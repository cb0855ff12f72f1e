#!/usr/bin/env bash
# `npm run test:slow`: the checks and drills too slow to gate every change (minutes each, or a
# fresh build of their own). CI runs them after `npm test` (.ci/run). Each step counts as one test;
# every step runs even when one fails. Run one alone with its own command (see below).
#   TEST_COUNTS_FILE=path   also write "passed failed" there (for .ci/run's total)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh || exit 1
[ -d dist ] || npm run --silent build || exit 1

passed=0
failed=0
failures=()
step() {
  local name=$1
  shift
  echo "== slow: $name ($*)"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "   passed: $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "   FAILED: $name ($((SECONDS - t0)) s)"
  fi
}

step "migrations match entities, revert and re-apply" bash scripts/migration-check.sh
step "deploy artifacts (image replay, Grafana by promtool, Compose, Helm, Terraform)" bash scripts/check-deploy.sh
step "first run: npm run dev and the README walk-through" bash scripts/check-walkthrough.sh
step "budget drill (20 races over 3 instances, overshoot must be 0)" npm run --silent drill:budget
step "failover drill (steady load while the primary fails each way)" npm run --silent drill:failover
# ---- short drills: one step per drill, in their short modes ----------------------------------
step "hostile-input drill (short: corpus, 0 5xx, neighbour throughput)" env DRILL_SKIP_BUILD=1 npm run --silent drill:hostile -- --short
step "postgres drill (short: stop and freeze a private Postgres under load)" npm run --silent drill:postgres -- --short
step "load drill (short: one instance, then two replicas on a budgeted tenant, 0 5xx)" npm run --silent drill:load -- --short
# ---- end of short drills ---------------------------------------------------------------------

[ ${#failures[@]} -eq 0 ] || printf '   failed: %s\n' "${failures[@]}"
echo "slow checks: $passed passed, $failed failed"
[ -z "${TEST_COUNTS_FILE:-}" ] || echo "$passed $failed" >"$TEST_COUNTS_FILE"
[ "$failed" -eq 0 ]
