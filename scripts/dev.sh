#!/usr/bin/env bash
# One command to run the gateway locally: local PostgreSQL + Redis, the shipped catalog, and the
# `mock` provider (answers without any provider key). Prints the admin key to use.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
DB=${DEV_DATABASE:-llm_gateway}
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
npm run build --silent

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$DB}
export ADMIN_API_KEY=${ADMIN_API_KEY:-dev-admin-key-0123456789abcdef0123456789}
export DB_MIGRATE_ON_BOOT=${DB_MIGRATE_ON_BOOT:-true}
export PORT=${PORT:-8080}
cat >&2 <<TXT

  LLM Gateway (dev)   http://127.0.0.1:$PORT      Swagger UI: http://127.0.0.1:$PORT/docs
  admin key:          $ADMIN_API_KEY
  (set ADMIN_API_KEY to choose your own; it must be at least 32 characters)

TXT
exec node dist/apps/gateway/src/main.js
