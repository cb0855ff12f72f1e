// npm run drill:postgres — see test/support/postgres-drill.ts for what it measures and its
// settings. This launcher only loads the TypeScript sources (transpile-only) with the repo's
// path aliases; the drill boots the gateway in-process on a private Postgres and Redis.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
if (process.argv.includes('--short')) process.env.DRILL_SHORT = '1';
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = join(root, 'tsconfig.json');
const require = createRequire(import.meta.url);
require('ts-node/register');
require('tsconfig-paths/register');
const { runPostgresDrill } = require('../test/support/postgres-drill.ts');

try {
  process.exit((await runPostgresDrill()) ? 0 : 1);
} catch (err) {
  process.stderr.write(`drill failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}
