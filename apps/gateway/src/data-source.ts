import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadDatabaseConfig } from '@gateway/config';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from './entities';

/** The migration CLI's DataSource (`npm run migration:*`): reads DATABASE_URL only. */
export default new DataSource(dataSourceOptions(loadDatabaseConfig(), ENTITIES));
