import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * The `pg` pool under the app's TypeORM DataSource, for the few hot statements that skip TypeORM's
 * query runner (the audit batch insert, the fallback budget reservation). Same connections, same
 * limits; errors are pg's own (`code` is the SQLSTATE), not wrapped in QueryFailedError.
 */
export function pgPool(dataSource: DataSource): Pool {
  return (dataSource.driver as PostgresDriver).master as Pool;
}
