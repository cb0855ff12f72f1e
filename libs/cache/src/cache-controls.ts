import type { CacheControls } from './cache.types';

const DEFAULT: CacheControls = Object.freeze({ lookup: true, store: true });
const NO_CACHE: CacheControls = Object.freeze({ lookup: false, store: true });
const NO_STORE: CacheControls = Object.freeze({ lookup: false, store: false });

/**
 * docs/api.md §5: `no-cache` skips the lookup but keeps the fresh answer; `no-store` does neither.
 * Directives are case-insensitive and comma-separated; unknown ones (max-age, …) are ignored, and
 * `no-store` wins when both are sent.
 */
export function parseCacheControl(header: string | undefined): CacheControls {
  if (!header) return DEFAULT;
  let noCache = false;
  for (const part of header.split(',')) {
    const directive = part.split('=', 1)[0].trim().toLowerCase();
    if (directive === 'no-store') return NO_STORE;
    if (directive === 'no-cache') noCache = true;
  }
  return noCache ? NO_CACHE : DEFAULT;
}
