import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';

/** Admin connection to the shared local server; tests never touch existing databases. */
export const PG_ADMIN_URL =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Where global setup leaves the name of the migrated template database of this run. Jest workers
 * inherit the parent's environment, so every file of the run copies the same template; outside
 * Jest (the drills) it is unset and each database is migrated as before.
 */
export const TEMPLATE_DB_ENV = 'LLMGW_TEST_TEMPLATE_DB';

export interface TestDatabase {
  name: string;
  url: string;
  /** A migrated DataSource on the database (for direct assertions). */
  dataSource: DataSource;
  drop(): Promise<void>;
}

/** The URL of database `name` on the shared server. */
export function databaseUrl(name: string): string {
  return PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
}

/** Runs `fn` on a fresh admin connection to the shared server. */
export async function withAdmin<T>(fn: (c: Client) => Promise<T>, url = PG_ADMIN_URL): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export function dropDatabase(name: string): Promise<void> {
  return withAdmin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

function uniqueName(label: string): string {
  return `llmgw_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
}

function migratedDataSource(url: string, poolSize: number): DataSource {
  return new DataSource(dataSourceOptions({ url, migrateOnBoot: false, poolSize }, ENTITIES));
}

/**
 * Creates the run's template: one database with every migration applied, which each test
 * database then copies (`CREATE DATABASE … TEMPLATE`, a file copy: tens of milliseconds instead of
 * running the migrations again per file). Nothing stays connected to it, as Postgres requires of
 * a template.
 */
export async function createTemplateDatabase(): Promise<string> {
  const name = uniqueName('template');
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const ds = migratedDataSource(databaseUrl(name), 1);
  try {
    await ds.initialize();
    await ds.runMigrations();
  } catch (err) {
    await ds.destroy().catch(() => undefined);
    await dropDatabase(name);
    throw err;
  }
  await ds.destroy();
  return name;
}

/** A fresh database with every migration applied; each test file makes its own. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = uniqueName(label);
  const template = process.env[TEMPLATE_DB_ENV];
  await withAdmin((c) =>
    c.query(
      template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`,
    ),
  );
  const url = databaseUrl(name);
  const dataSource = migratedDataSource(url, 4);
  await dataSource.initialize();
  // A copy of the template has nothing pending (one SELECT); without a template this migrates.
  await dataSource.runMigrations();
  return {
    name,
    url,
    dataSource,
    async drop() {
      await dataSource.destroy().catch(() => undefined);
      await dropDatabase(name);
    },
  };
}

/**
 * A migrated database on a private cluster (test/support/pg-cluster.ts) that a fault test stops
 * or freezes; the shared server's template is not there, so this migrates. drop() only closes
 * the pool: the database goes with the cluster.
 */
export async function createPrivateDatabase(
  cluster: { url(database?: string): string },
  name: string,
): Promise<TestDatabase> {
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`), cluster.url());
  const url = cluster.url(name);
  const dataSource = await migratedDataSource(url, 2).initialize();
  await dataSource.runMigrations();
  return {
    name,
    url,
    dataSource,
    drop: () => dataSource.destroy().then(undefined, () => undefined),
  };
}
