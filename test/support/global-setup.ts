import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import Redis from 'ioredis';
import { register } from 'tsconfig-paths';

/*
 * Runs once per `jest` run, in the parent process, before any worker: checks the shared services,
 * then migrates one template database that every test database copies (test/support/database.ts).
 * Jest resolves the `@gateway/*` aliases only inside test files, so this registers them itself.
 */
const ROOT = join(__dirname, '../..');
let aliasesRegistered = false;

/** Fails fast, with a clear line, when the shared Postgres or Redis is not running. */
export default async function globalSetup(): Promise<void> {
  const pg = new Client({
    connectionString:
      process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  });
  try {
    await pg.connect();
    await pg.query('SELECT 1');
  } catch (err) {
    throw new Error(`tests need PostgreSQL at 127.0.0.1:5432: ${(err as Error).message}`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at 127.0.0.1:6379: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }

  // Both service projects name this file: the second call finds the template made.
  const { createTemplateDatabase, TEMPLATE_DB_ENV } = await loadDatabaseSupport();
  if (!process.env[TEMPLATE_DB_ENV]) process.env[TEMPLATE_DB_ENV] = await createTemplateDatabase();
}

export async function loadDatabaseSupport(): Promise<typeof import('./database')> {
  const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  if (!aliasesRegistered) {
    register({ baseUrl: ROOT, paths: compilerOptions.paths, addMatchAll: false });
    aliasesRegistered = true;
  }
  return import('./database');
}
