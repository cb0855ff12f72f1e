import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import { ConfigModule, loadConfig } from '@gateway/config';
import {
  dataSourceOptions,
  MIGRATION_LOCK_KEY,
  MIGRATIONS,
  MigrationLockedDataSource,
  PersistenceModule,
} from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { TEST_CATALOG } from '../support/catalog';
import { PG_ADMIN_URL, withAdmin as admin } from '../support/database';

/**
 * Replicas that start together with DB_MIGRATE_ON_BOOT=true (`docker compose up --scale
 * gateway=3`), and `npm run migration:run` beside them, on one fresh database: the advisory lock
 * lets one migrate while the others wait, and every migration is applied exactly once.
 */
jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const TYPEORM_CLI = join(ROOT, 'node_modules/typeorm/cli.js');
const DATA_SOURCE_JS = join(ROOT, 'dist/apps/gateway/src/data-source.js');

interface EmptyDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database with nothing in it: no tables, no migrations table. */
async function emptyDatabase(): Promise<EmptyDatabase> {
  const name = `llmgw_miglock_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Migration names recorded in the database, in order. */
function applied(url: string): Promise<string[]> {
  return admin(async (c) => {
    const { rows } = await c.query<{ name: string }>(
      'SELECT name FROM schema_migrations ORDER BY id',
    );
    return rows.map((r) => r.name);
  }, url);
}

const expectedNames = () =>
  MIGRATIONS.map((m) => (m as unknown as { name: string }).name).sort((a, b) => a.localeCompare(b));

/**
 * The gateway's persistence layer as the app boots it (PersistenceModule, migrations at boot).
 * Nest's TypeORM module retries a failed start (a lost race) and logs an error each time:
 * `errors` collects those lines.
 */
async function bootPersistence(url: string, errors: string[]): Promise<INestApplication> {
  const config = loadConfig({
    DATABASE_URL: url,
    DB_MIGRATE_ON_BOOT: 'true',
    ADMIN_API_KEY: 'a'.repeat(40),
    GATEWAY_CONFIG: TEST_CATALOG,
  });
  const quiet = () => undefined;
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(ENTITIES)],
  })
    .setLogger({
      log: quiet,
      warn: quiet,
      debug: quiet,
      verbose: quiet,
      error: (message: unknown) => errors.push(String(message)),
    })
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('migrations under an advisory lock (integration)', () => {
  const databases: EmptyDatabase[] = [];
  const fresh = async () => {
    const db = await emptyDatabase();
    databases.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });

  it('three instances booting at once with DB_MIGRATE_ON_BOOT=true start first time; each migration runs once', async () => {
    const db = await fresh();
    const errors: string[] = [];
    const apps = await Promise.all([1, 2, 3].map(() => bootPersistence(db.url, errors)));
    await Promise.all(apps.map((a) => a.close()));
    // No instance lost a race and had to retry its start.
    expect(errors).toEqual([]);
    const names = await applied(db.url);
    expect([...names].sort((a, b) => a.localeCompare(b))).toEqual(expectedNames());
  });

  // The compiled CLI the image and the Helm Job run; `npm run migration:run` is the same CLI over
  // the same data-source.ts through ts-node (slower to start, same lock).
  it('two migration:run CLIs at once both exit 0; each migration runs once', async () => {
    const db = await fresh();
    if (!existsSync(DATA_SOURCE_JS))
      throw new Error(`${DATA_SOURCE_JS} is missing: run \`npm run build\` first`);
    const run = () =>
      promisify(execFile)(process.execPath, [TYPEORM_CLI, '-d', DATA_SOURCE_JS, 'migration:run'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db.url },
      });
    await Promise.all([run(), run()]);
    expect((await applied(db.url)).length).toBe(MIGRATIONS.length);
  });

  it('a runner waits while another session holds the lock, then migrates', async () => {
    const db = await fresh();
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    const ds = new MigrationLockedDataSource(
      dataSourceOptions({ url: db.url, migrateOnBoot: false, poolSize: 1 }, ENTITIES),
    );
    await ds.initialize();
    try {
      let done = false;
      const running = ds.runMigrations().then((r) => {
        done = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 700));
      expect(done).toBe(false);
      const { rows } = await holder.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'schema_migrations'",
      );
      expect(rows[0].n).toBe(0);
      await holder.end();
      // A pool of one still migrates: the lock's connection is not taken from the pool.
      expect(await running).toHaveLength(MIGRATIONS.length);
    } finally {
      await holder.end().catch(() => undefined);
      await ds.destroy();
    }
  });
});
