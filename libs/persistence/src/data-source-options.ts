import type { DataSourceOptions } from 'typeorm';
import { DATABASE_DEADLINE_DEFAULTS, type DatabaseConfig } from '@gateway/config';
import { DeadlineClient } from './deadline-client';
import { MIGRATIONS } from './migrations';

/** The settings a DataSource needs; deadlines left out take the defaults of DB_*_TIMEOUT_MS. */
export type DataSourceSettings = Pick<DatabaseConfig, 'url' | 'poolSize'> &
  Partial<Omit<DatabaseConfig, 'url' | 'poolSize'>>;

/**
 * The one set of DataSource options, used by the app (through TypeOrmModule) and by the migration
 * CLI (apps/gateway/src/data-source.ts), so both see the same entities and migrations.
 * `synchronize` is off everywhere: the schema changes only through committed migrations.
 *
 * Every pooled connection carries the deadlines of docs/configuration.md (Postgres deadlines): a
 * pool checkout or connect timeout, a client-side query timeout (the connection is then dropped,
 * see DeadlineClient), the server-side `statement_timeout` and
 * `idle_in_transaction_session_timeout`, and TCP keepalive; 0 turns one off.
 */
export function dataSourceOptions(
  db: DataSourceSettings,
  entities: DataSourceOptions['entities'],
): DataSourceOptions {
  const d = { ...DATABASE_DEADLINE_DEFAULTS, ...db };
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
    extra: {
      max: db.poolSize,
      application_name: 'llm-gateway',
      Client: DeadlineClient,
      connectionTimeoutMillis: d.connectTimeoutMs,
      query_timeout: d.queryTimeoutMs,
      statement_timeout: d.statementTimeoutMs,
      idle_in_transaction_session_timeout: d.idleInTransactionTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: d.keepAliveIdleMs,
    },
  };
}
