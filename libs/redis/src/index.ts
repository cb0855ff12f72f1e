export { RedisKeys } from './redis-keys';
export { RedisService, type RedisClient } from './redis.service';
export { RedisModule } from './redis.module';
