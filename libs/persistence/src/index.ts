export { dataSourceOptions } from './data-source-options';
export { PersistenceModule } from './persistence.module';
export { MIGRATIONS } from './migrations';
export { pgPool } from './pg-pool';
