#!/usr/bin/env bash
# Fails when the entities and the committed migrations disagree: migrates a scratch database,
# then asks TypeORM to generate a migration, which must be empty.
set -euo pipefail
cd "$(dirname "$0")/.."
DB="llmgw_migcheck_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$DB\""
trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
npm run --silent migration:run >/dev/null
out=$(npm run --silent typeorm -- migration:generate /tmp/llmgw-drift-$$ --dryrun 2>&1 || true)
if echo "$out" | grep -q "No changes in database schema were found"; then
  echo "migrations are in sync with the entities"
  # Revert everything to prove each down() works, then re-apply.
  n=$(psql -h 127.0.0.1 -U postgres -d "$DB" -tAc "SELECT count(*) FROM schema_migrations")
  for _ in $(seq 1 "$n"); do npm run --silent migration:revert >/dev/null; done
  npm run --silent migration:run >/dev/null
  echo "all $n migrations revert and re-apply cleanly"
else
  echo "entities and migrations differ; generate a migration (npm run migration:generate -- Name):" >&2
  echo "$out" >&2
  exit 1
fi
