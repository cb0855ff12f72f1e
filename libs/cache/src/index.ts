export { CacheModule } from './cache.module';
export { CacheService, DEFAULT_CACHE_TTL_SECONDS, type Coalesced } from './cache.service';
export type { CacheControls, CachedAnswer, CacheKey, CacheLookup } from './cache.types';
export { NON_KEY_PARAMS } from './cache-key.builder';
