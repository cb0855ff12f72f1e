#!/usr/bin/env bash
# A/B in one sitting: alternates `npm run bench` between this tree and an older commit, one round
# each, ROUNDS times, so both builds see the same machine drift. The older commit is checked out as
# a git worktree under run/ab-base (sharing this tree's node_modules) and built there.
# Usage: scripts/bench/ab.sh <base-commit>   Env: ROUNDS (default 3), plus any bench.sh variable
#        (defaults here: SCENARIOS="bypass miss hit" LEVELS="1 10" RATES="").
# Compare within a round (e.g. miss − bypass), then take medians; results in run/ab-{new,old}-N.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BASE=${1:?usage: scripts/bench/ab.sh <base-commit>}
export SCENARIOS=${SCENARIOS:-"bypass miss hit"} LEVELS=${LEVELS:-"1 10"} RATES=${RATES-""} DUR=${DUR:-10}
export BENCH_KIT=${BENCH_KIT:-$ROOT/../shared/bench}
OLD=$ROOT/run/ab-base
if [ ! -d "$OLD" ]; then
  git worktree add -f "$OLD" "$BASE" >/dev/null
  ln -s "$ROOT/node_modules" "$OLD/node_modules"
fi
git -C "$OLD" checkout -q --detach "$BASE"
(cd "$OLD" && npm run --silent build)
npm run --silent build
for i in $(seq 1 "${ROUNDS:-3}"); do
  ROUNDS=1 OUT_DIR=$ROOT/run/ab-new-$i bash scripts/bench.sh > "$ROOT/run/ab-new-$i.log" 2>&1
  (cd "$OLD" && ROUNDS=1 OUT_DIR=$ROOT/run/ab-old-$i bash scripts/bench.sh > "$ROOT/run/ab-old-$i.log" 2>&1)
  echo "round $i done: run/ab-new-$i.log run/ab-old-$i.log"
done
