export * from './config.types';
export { ConfigError } from './config.error';
export { loadConfig, loadDatabaseConfig, DEFAULT_CATALOG_PATH } from './config.loader';
export { parseCatalog, parsePrice } from './catalog.loader';
export { ConfigModule } from './config.module';
export { GatewayConfigService } from './gateway-config.service';
export { redisUrlDatabase, redisUrlWithoutDatabase } from './redis-url';
