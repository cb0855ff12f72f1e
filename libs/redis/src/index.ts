export { RedisKeys } from './redis-keys';
export { backstopTimeoutMs, RedisService, type RedisClient } from './redis.service';
export { RedisModule } from './redis.module';
export {
  LateReplyError,
  RedisCircuitBreaker,
  toRedisUnavailable,
  type RedisAvailabilityListener,
  type RedisCircuitBreakerOptions,
} from './redis-circuit-breaker';
export { RedisUnavailableError } from './redis-unavailable.error';
export { closeQuietly, withTimeout } from './close-quietly';
export { lagAwareTimeout, COMMAND_TIMED_OUT } from './lag-aware-timeout';
export { EventLoopLag, eventLoopLag } from './event-loop-lag';
