import 'reflect-metadata';
import { loadDatabaseConfig } from '@gateway/config';
import { dataSourceOptions, MigrationLockedDataSource } from '@gateway/persistence';
import { ENTITIES } from './entities';

/**
 * The migration CLI's DataSource (`npm run migration:*`, and the image's compiled CLI): reads
 * DATABASE_URL only; runs and reverts take the same advisory lock as migrations at boot.
 */
export default new MigrationLockedDataSource(dataSourceOptions(loadDatabaseConfig(), ENTITIES));
