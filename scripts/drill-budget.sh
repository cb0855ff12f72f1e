#!/usr/bin/env bash
# The budget drill: the budget race, 20 rounds (ADMISSION_DRILL_RUNS to change), on 3
# AdmissionService instances sharing the local Redis and Postgres. Prints the worst overshoot
# (requests and dollars); exits non-zero if it is not 0.
set -euo pipefail
cd "$(dirname "$0")/.."
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
ADMISSION_DRILL_RUNS="${ADMISSION_DRILL_RUNS:-20}" ADMISSION_DRILL_REPORT="$report" \
  npx jest --selectProjects integration --runInBand test/integration/admission-drill.int-spec.ts || status=$?
if [[ -s "$report" ]]; then
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).summary)' "$report"
else
  echo "budget drill: no report (the drill did not finish)" >&2
  status=1
fi
exit "$status"
