export { dataSourceOptions, type DataSourceSettings } from './data-source-options';
export { DeadlineClient } from './deadline-client';
export { PersistenceModule } from './persistence.module';
export { MIGRATIONS } from './migrations';
export { pgPool } from './pg-pool';
export { MigrationLockedDataSource, MIGRATION_LOCK_KEY } from './migration-locked-data-source';
