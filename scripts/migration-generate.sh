#!/usr/bin/env bash
# npm run migration:generate -- <Name>: writes libs/persistence/src/migrations/<ts>-<Name>.ts from
# the difference between the entities and a scratch database migrated to the current head.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: npm run migration:generate -- <Name>}
DB="llmgw_miggen_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
npm run --silent migration:run >/dev/null
npm run --silent typeorm -- migration:generate "libs/persistence/src/migrations/$NAME" --pretty
echo "now add the new class to MIGRATIONS in libs/persistence/src/migrations/index.ts" >&2
