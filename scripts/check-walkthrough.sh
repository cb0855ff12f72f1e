#!/usr/bin/env bash
# A newcomer's first run, replayed: `npm run dev` (scripts/dev.sh) on a free port and a throwaway
# database; its banner must come after Nest's route table; the walk-through it prints and the
# README's "Walk-through (curl)" block must both run as pasted (every curl answering 2xx); Ctrl-C
# must stop it. Part of the slow checks (scripts/test-slow.sh); needs the shared Postgres and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
db=llmgw_walkthrough_$(node -e 'console.log(require("crypto").randomBytes(4).toString("hex"))')
work=$(mktemp -d)
dev_pid=
cleanup() {
  [ -n "$dev_pid" ] && kill -TERM -- "-$dev_pid" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "✗ $*" >&2
  echo "--- npm run dev output:" >&2
  tail -40 "$work/dev.out" >&2
  exit 1
}

# The admin key the user would get: the dev default, not one inherited from this shell. Job
# control gives it a process group of its own, as a terminal does, so Ctrl-C can be replayed (a
# plain background job would start with SIGINT ignored).
set -m
env -u ADMIN_API_KEY -u DATABASE_URL PORT="$port" DEV_DATABASE="$db" LOG_LEVEL=info \
  bash scripts/dev.sh >"$work/dev.out" 2>&1 &
dev_pid=$!
set +m
for _ in $(seq 1 240); do
  grep -q '^export KEY=' "$work/dev.out" && break
  kill -0 "$dev_pid" 2>/dev/null || fail "npm run dev exited before it was ready"
  sleep 0.5
done
grep -q '^export KEY=' "$work/dev.out" || fail "no walk-through printed within 120 s"

last_route=$(grep -n 'Mapped {' "$work/dev.out" | tail -1 | cut -d: -f1)
banner=$(grep -n 'is ready:' "$work/dev.out" | head -1 | cut -d: -f1)
[ -n "$last_route" ] || fail "no route table in the output"
[ "$banner" -gt "$last_route" ] || fail "the banner (line $banner) comes before the end of the route table (line $last_route)"
grep -q '"level":' "$work/dev.out" && fail "log lines are raw JSON, not pretty-printed"
echo "   banner after the route table (line $banner > $last_route), logs pretty-printed"

# Every curl must succeed (as a reader would notice a 401 or 404).
preamble='set -euo pipefail
curl() { command curl --fail-with-body --max-time 10 "$@"; }'

sed -n '/^export GW=/,/; echo$/p' "$work/dev.out" >"$work/printed.sh"
[ -s "$work/printed.sh" ] || fail "could not find the printed walk-through"
(printf '%s\n' "$preamble"; cat "$work/printed.sh") | env -u ADMIN_API_KEY bash >"$work/printed.out" 2>&1 ||
  fail "the printed walk-through failed: $(tail -3 "$work/printed.out")"
grep -q '"cached":false' "$work/printed.out" || fail "the printed walk-through got no completion: $(cat "$work/printed.out")"
echo "   the walk-through printed by npm run dev runs as pasted"

# The README's block, against this port instead of 8080.
node -e '
  const md = require("fs").readFileSync("README.md", "utf8");
  const m = /## Walk-through \(curl\)\s*```bash\n([\s\S]*?)```/.exec(md);
  if (!m) { console.error("README has no Walk-through (curl) bash block"); process.exit(1); }
  process.stdout.write(m[1].replace("http://127.0.0.1:8080", "http://127.0.0.1:" + process.argv[1]));
' "$port" >"$work/readme.sh" || fail "README walk-through not found"
(printf '%s\n' "$preamble"; cat "$work/readme.sh") | env -u ADMIN_API_KEY bash >"$work/readme.out" 2>&1 ||
  fail "the README walk-through failed: $(tail -3 "$work/readme.out")"
grep -q 'X-Cache: HIT' -i "$work/readme.out" || fail "the README walk-through's repeat was not a cache HIT"
echo "   the README walk-through runs as written against npm run dev"

# What Ctrl-C in a terminal does: SIGINT to the whole foreground process group.
kill -INT -- "-$dev_pid"
for _ in $(seq 1 40); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$dev_pid" 2>/dev/null && fail "npm run dev did not stop on Ctrl-C (SIGINT) within 10 s"
dev_pid=
echo "   Ctrl-C stops it"
