export { dataSourceOptions, type DataSourceSettings } from './data-source-options';
export { DeadlineClient } from './deadline-client';
export { PersistenceModule } from './persistence.module';
export { MIGRATIONS } from './migrations';
export { pgPool } from './pg-pool';
