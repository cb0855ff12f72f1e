#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this): services, install, static checks,
# build, migration drift check, deploy manifest checks (Helm, Terraform, Prometheus, Compose), then unit, integration and e2e tests against real Postgres/Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

echo "== static checks"; npm run --silent check
echo "== build"; npm run --silent build
echo "== migrations match entities"; bash scripts/migration-check.sh
echo "== deploy manifests"; bash scripts/check-deploy.sh
echo "== tests"
report=$(mktemp)
status=0
npx jest --ci --runInBand --json --outputFile="$report" "$@" || status=$?
# The plain closing line CI reads ("tests: N passed, N failed").
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`)' "$report" || true
rm -f "$report"
exit $status
