import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '@gateway/config';
import { MIGRATIONS } from './migrations';

/**
 * The one set of DataSource options, used by the app (through TypeOrmModule) and by the migration
 * CLI (apps/gateway/src/data-source.ts), so both see the same entities and migrations.
 * `synchronize` is off everywhere: the schema changes only through committed migrations.
 */
export function dataSourceOptions(
  db: DatabaseConfig,
  entities: DataSourceOptions['entities'],
): DataSourceOptions {
  return {
    type: 'postgres',
    url: db.url,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: db.poolSize, application_name: 'llm-gateway' },
  };
}
