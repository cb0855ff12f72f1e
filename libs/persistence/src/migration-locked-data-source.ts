import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource, type Migration } from 'typeorm';

/**
 * The session-level advisory lock every migration run takes (an arbitrary constant: advisory locks
 * are per database, so only runners on the same database ever wait for each other).
 */
export const MIGRATION_LOCK_KEY = '7221014430052051';

/**
 * A DataSource whose migration runs hold a Postgres advisory lock. Replicas that boot together
 * with DB_MIGRATE_ON_BOOT=true, or a `migration:run` beside them, would otherwise each read the
 * same pending list and race to apply it (duplicate tables, a failed boot). Under the lock one runs
 * them and the others wait, then find nothing pending. TypeORM's `migrationsRun` at initialize()
 * and its CLI both call these methods, so the boot, `npm run migration:run` and the image's
 * compiled CLI all take it.
 *
 * The lock is held on a connection of its own, outside the pool, so it cannot starve the
 * migrations of a pool of one, and Postgres releases it if the process dies mid-run.
 */
export class MigrationLockedDataSource extends DataSource {
  private readonly lockLogger = new Logger('Migrations');

  override runMigrations(
    options?: Parameters<DataSource['runMigrations']>[0],
  ): Promise<Migration[]> {
    return this.underMigrationLock(() => super.runMigrations(options));
  }

  override undoLastMigration(
    options?: Parameters<DataSource['undoLastMigration']>[0],
  ): Promise<void> {
    return this.underMigrationLock(() => super.undoLastMigration(options));
  }

  private async underMigrationLock<T>(run: () => Promise<T>): Promise<T> {
    const url = (this.options as { url?: string }).url;
    const lock = new Client({ connectionString: url, application_name: 'llm-gateway:migrations' });
    await lock.connect();
    try {
      const { rows } = await lock.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [MIGRATION_LOCK_KEY],
      );
      if (!rows[0].locked) {
        this.lockLogger.log('another instance is migrating this database: waiting for it');
        await lock.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      }
      return await run();
    } finally {
      // Ending the session releases the lock (an explicit unlock would add nothing).
      await lock.end().catch(() => undefined);
    }
  }
}
