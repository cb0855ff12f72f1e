#!/usr/bin/env bash
# `npm test`: what gates every change. Services, install, static checks (prettier, eslint,
# tsc) beside the build, then unit tests (two workers), integration and e2e tests (in band)
# against real Postgres/Redis. The slow checks and drills are `npm run test:slow` (scripts/test-slow.sh); CI runs both
# (.ci/run). Extra arguments go to jest (e.g. `npm test -- test/e2e/cache`).
#   TEST_COUNTS_FILE=path   also write "passed failed" there (for .ci/run's total)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

counts() {
  echo "tests: $1 passed, $2 failed"
  [ -z "${TEST_COUNTS_FILE:-}" ] || echo "$1 $2" >"$TEST_COUNTS_FILE"
}

# eslint and tsc are single-threaded: on two cores, lint runs beside typecheck + build.
echo "== static checks and build"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
static=0
npm run --silent format:check >"$logs/format" 2>&1 || static=1
npm run --silent lint >"$logs/lint" 2>&1 &
lint=$!
{ npm run --silent typecheck && npm run --silent build; } >"$logs/tsc" 2>&1 || static=1
wait $lint || static=1
for f in format lint tsc; do
  if [ -s "$logs/$f" ] && [ "$static" -ne 0 ]; then sed "s/^/[$f] /" "$logs/$f"; fi
done
if [ "$static" -ne 0 ]; then
  echo "static checks or build failed"
  counts 0 1
  exit 1
fi
echo "   prettier, eslint, tsc and the build passed"

echo "== unit, integration and e2e tests"
# Unit specs are pure: two workers. Integration and e2e files each make their own database and
# Redis prefix, but several measure timing (Redis command timeouts, multi-process races) and
# were only ever proven one file at a time: they run in band.
# The budget drill's file is `npm run drill:budget`'s (20 rounds, in test:slow), not a gate.
status=0
npx jest --ci --passWithNoTests --selectProjects unit --maxWorkers=2 --json --outputFile="$logs/unit.json" -- "$@" || status=$?
npx jest --ci --passWithNoTests --selectProjects integration e2e --runInBand --json --outputFile="$logs/services.json" \
  --testPathIgnorePatterns '/node_modules/' 'admission-drill\.int-spec\.ts$' -- "$@" || status=$?
# The plain closing line CI reads ("tests: N passed, N failed").
read -r passed failed < <(node -e '
  let p = 0, f = 0;
  for (const file of process.argv.slice(1)) {
    try { const r = JSON.parse(require("fs").readFileSync(file, "utf8")); p += r.numPassedTests; f += r.numFailedTests + r.numRuntimeErrorTestSuites; }
    catch { f += 1; }
  }
  console.log(p, f);' "$logs/unit.json" "$logs/services.json")
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
counts "$passed" "$failed"
exit $status
