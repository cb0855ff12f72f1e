export { dataSourceOptions } from './data-source-options';
export { PersistenceModule } from './persistence.module';
export { MIGRATIONS } from './migrations';
export { pgPool } from './pg-pool';
export { MigrationLockedDataSource, MIGRATION_LOCK_KEY } from './migration-locked-data-source';
