#!/usr/bin/env bash
# npm run drill:postgres [-- --short]: installs what the drill runs (a private postgres cluster via
# initdb/pg_ctl, a private redis-server) when missing, then runs scripts/drill-postgres.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
  export PG_BIN
fi
exec node scripts/drill-postgres.mjs "$@"
