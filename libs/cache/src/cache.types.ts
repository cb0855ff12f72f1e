import type { FinishReason } from '@gateway/providers';

/** What a request's `Cache-Control` header allows (CONTRACT §5). */
export interface CacheControls {
  /** False for `no-cache` and `no-store`: do not answer from the cache. */
  readonly lookup: boolean;
  /** False for `no-store`: do not keep this answer. */
  readonly store: boolean;
}

/**
 * A complete, successful provider answer as the cache keeps it. `provider`, the token counts and
 * `costUnits` are those of the original call, so a hit reports them and its record can show the
 * cost it saved.
 */
export interface CachedAnswer {
  readonly content: string;
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly provider: string;
  readonly providerModel: string;
  /** What the original call cost, in units of 1e-10 USD (reported as `cost_saved` on a hit). */
  readonly costUnits: number;
}

/** How a request that was not answered from the cache gets its answer. */
export interface Coalesced {
  readonly answer: CachedAnswer;
  /** True when this request called the provider (and pays for it); false for a shared answer. */
  readonly leader: boolean;
  /**
   * Settles (never rejects) once the answer is stored and any waiters told. Not needed for the
   * answer itself: the pipeline awaits it alongside the audit record, off the response's path.
   */
  readonly stored: Promise<void>;
}

/** A miss's (or bypass's) way to the provider. Exactly one of its methods is used, once. */
export interface CacheFill {
  /**
   * Calls `compute`, unless an identical request in flight (on any instance) answers first; a
   * leader stores its answer and wakes the waiters. Rejects with `compute`'s error.
   */
  run(compute: () => Promise<CachedAnswer>): Promise<Coalesced>;
  /**
   * The request will not call the provider (refused by admission, say): a held lock is released
   * at once so identical requests waiting for it call the provider themselves. Never rejects.
   */
  abandon(): Promise<void>;
}

/** The outcome of a request's cache round trip (CacheService.open). */
/** An opening without a usable entry: the answer is to be computed through `fill`. */
export interface CacheMiss {
  readonly status: 'miss' | 'bypass';
  readonly fill: CacheFill;
}

export type CacheOpening = { readonly status: 'hit'; readonly answer: CachedAnswer } | CacheMiss;

declare const cacheKeyBrand: unique symbol;

/**
 * The identity of a cacheable request. Only `CacheService.key()` makes one (the brand keeps a
 * hand-built object from type-checking), and it carries the tenant it was built for, so an entry
 * can never be read or written for another tenant.
 */
export interface CacheKey {
  readonly tenantId: string;
  /** SHA-256 (hex) of the canonical JSON of tenant, model alias and output-affecting parameters. */
  readonly digest: string;
  readonly [cacheKeyBrand]: true;
}
