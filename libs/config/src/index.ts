export * from './config.types';
export { type CidrBlock, parseCidrList } from './cidr';
export { ConfigError } from './config.error';
export {
  DATABASE_DEADLINE_DEFAULTS,
  DEFAULT_CATALOG_PATH,
  loadConfig,
  loadDatabaseConfig,
} from './config.loader';
export { parseCatalog, parsePrice } from './catalog.loader';
export { ConfigModule } from './config.module';
export { GatewayConfigService } from './gateway-config.service';
export { redisUrlDatabase, redisUrlWithoutDatabase } from './redis-url';
