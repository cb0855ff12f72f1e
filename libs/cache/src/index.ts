export { CacheModule } from './cache.module';
export { CacheService, DEFAULT_CACHE_TTL_SECONDS } from './cache.service';
export type {
  CacheControls,
  CachedAnswer,
  CacheFill,
  CacheKey,
  CacheMiss,
  CacheOpening,
  Coalesced,
  EmbeddingAnswer,
} from './cache.types';
export type { EmbeddingEncoding } from './cache-key.builder';
export { NON_KEY_PARAMS } from './cache-key.builder';
