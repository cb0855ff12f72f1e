// npm run drill:hostile [-- --short] — see test/support/hostile-drill.ts for what it sends, what
// it measures and its settings. This launcher only loads the TypeScript sources (transpile-only)
// with the repo's path aliases; the drill runs the built gateway (dist/) as its own process.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
process.env.TS_NODE_PROJECT = join(root, 'tsconfig.json');
const require = createRequire(import.meta.url);
require('ts-node/register');
require('tsconfig-paths/register');
const { runHostileDrill } = require('../test/support/hostile-drill.ts');

const short =
  process.argv.includes('--short') || /^(1|true|yes)$/i.test(process.env.DRILL_SHORT ?? '');
try {
  const pass = await runHostileDrill(short);
  process.exit(pass ? 0 : 1);
} catch (err) {
  process.stderr.write(`drill failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}
