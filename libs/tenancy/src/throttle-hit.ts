import type { ThrottlerStorage } from '@nestjs/throttler';

/** `ThrottlerStorageRecord`, which the package's index does not export. */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** One counted hit, in milliseconds (the throttler's own record rounds to seconds). */
export interface ThrottleHit {
  /** Hits in the window, this one included (a refused one too, as the throttler reports it). */
  readonly totalHits: number;
  /** Until the window's oldest hit leaves it. */
  readonly timeToExpireMs: number;
  /** > 0: this hit was refused, and a new one is counted again only after this long. */
  readonly blockedMs: number;
}

export function toStorageRecord(hit: ThrottleHit): ThrottlerStorageRecord {
  return {
    totalHits: hit.totalHits,
    timeToExpire: Math.ceil(hit.timeToExpireMs / 1000),
    isBlocked: hit.blockedMs > 0,
    timeToBlockExpire: Math.ceil(hit.blockedMs / 1000),
  };
}
