#!/usr/bin/env bash
# One command to run the gateway locally: local PostgreSQL + Redis, the shipped catalog, and the
# `mock` provider (answers without any provider key). Logs are pretty-printed (pino-pretty, a dev
# dependency: production logs stay one JSON object per line). Once the gateway answers — after
# Nest's route table — it prints the admin key and a walk-through ready to paste into another shell.
#   DEV_DATABASE   database to create and migrate (default llm_gateway)
#   DEV_PRETTY=0   raw JSON log lines
#   ADMIN_API_KEY, PORT, DATABASE_URL, … as for the gateway (docs/configuration.md)
set -euo pipefail
cd "$(dirname "$0")/.."

# The one development admin key: docker-compose.yml and the README's walk-through use the same one.
DEV_ADMIN_API_KEY=dev-admin-key-0123456789abcdef0123456789

bash scripts/ensure-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
DB=${DEV_DATABASE:-llm_gateway}
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
npm run build --silent

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$DB}
export ADMIN_API_KEY=${ADMIN_API_KEY:-$DEV_ADMIN_API_KEY}
export DB_MIGRATE_ON_BOOT=${DB_MIGRATE_ON_BOOT:-true}
export PORT=${PORT:-8080}
# Nothing sits in front of a dev gateway: Ctrl-C stops it at once.
export SHUTDOWN_DRAIN_DELAY_MS=${SHUTDOWN_DRAIN_DELAY_MS:-0}
GW=http://127.0.0.1:$PORT

if [ "${DEV_PRETTY:-1}" = 1 ]; then
  node dist/apps/gateway/src/main.js > >(exec node_modules/.bin/pino-pretty --singleLine \
    --translateTime SYS:HH:MM:ss.l --ignore pid,hostname,context --messageFormat '{if context}[{context}] {end}{msg}') 2>&1 &
else
  node dist/apps/gateway/src/main.js &
fi
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null || true' INT TERM

# Ready = /health/live answers; then let the buffered log lines (flushed every 200 ms) and the
# pretty-printer catch up, so the walk-through comes after the route table, not in the middle of it.
until node -e "fetch('$GW/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null; do
  kill -0 $gateway 2>/dev/null || { wait $gateway; exit $?; }
  sleep 0.3
done
sleep 0.6

cat <<TXT

  ────────────────────────────────────────────────────────────────────────────────────────────
  LLM Gateway (dev) is ready: $GW      Swagger UI: $GW/docs
  admin key: $ADMIN_API_KEY
  (set ADMIN_API_KEY to choose your own, ≥ 32 characters; Ctrl-C stops the gateway)

  Try it — paste into another shell (the \`mock\` model answers without any provider key):

export GW=$GW ADMIN=$ADMIN_API_KEY
export KEY=\$(curl -s -X POST \$GW/api/v1/admin/tenants -H "X-API-Key: \$ADMIN" -H 'Content-Type: application/json' \\
  -d '{"name":"my-app","rate_limit":60,"monthly_budget":25}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).api_key')
curl -s -X POST \$GW/api/v1/completions -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
  -d '{"model":"mock","messages":[{"role":"user","content":"Hello, how are you?"}],"max_tokens":50}'; echo

  More in README.md ("Walk-through").
  ────────────────────────────────────────────────────────────────────────────────────────────

TXT

status=0
wait $gateway || status=$?
# A signal interrupts the first wait; the second one collects the gateway's own exit after draining.
kill -0 $gateway 2>/dev/null && { wait $gateway || status=$?; }
exit $status
