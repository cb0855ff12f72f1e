import type { FinishReason } from '@gateway/types';

/** What a request's `Cache-Control` header allows (docs/api.md §5). */
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

/**
 * An embeddings answer as the cache keeps it: the vectors exactly (float32), and like CachedAnswer
 * the provider, tokens and cost of the original call.
 */
export interface EmbeddingAnswer {
  readonly vectors: readonly Float32Array[];
  readonly promptTokens: number;
  readonly provider: string;
  readonly providerModel: string;
  /** Units of 1e-10 USD. */
  readonly costUnits: number;
}

/** The stored form of one kind of answer (chat answers, embeddings). */
export interface AnswerCodec<A> {
  /** The bytes to store, or null when the answer must not be cached. */
  encode(answer: A): Promise<Buffer | null>;
  /** The answer, or null for bytes this version cannot read (a miss, never an error). */
  decode(bytes: Buffer): Promise<A | null>;
  /** Why `encode` refuses the answer (incomplete, malformed), or null (it may still be too large). */
  uncacheableReason(answer: A): string | null;
}

/** How a request that was not answered from the cache gets its answer. */
export interface Coalesced<A = CachedAnswer> {
  readonly answer: A;
  /** True when this request called the provider (and pays for it); false for a shared answer. */
  readonly leader: boolean;
  /**
   * Settles (never rejects) once the answer is stored and any waiters told. Not needed for the
   * answer itself: the pipeline awaits it alongside the audit record, off the response's path.
   */
  readonly stored: Promise<void>;
}

/** A miss's (or bypass's) way to the provider. Exactly one of its methods is used, once. */
export interface CacheFill<A = CachedAnswer> {
  /**
   * Calls `compute`, unless an identical request in flight (on any instance) answers first; a
   * leader stores its answer and wakes the waiters. Rejects with `compute`'s error.
   */
  run(compute: () => Promise<A>): Promise<Coalesced<A>>;
  /**
   * The request will not call the provider (refused by admission, say): a held lock is released
   * at once so identical requests waiting for it call the provider themselves. Never rejects.
   */
  abandon(): Promise<void>;
}

/** An opening without a usable entry: the answer is to be computed through `fill`. */
export interface CacheMiss<A = CachedAnswer> {
  readonly status: 'miss' | 'bypass';
  readonly fill: CacheFill<A>;
}

/** The outcome of a request's cache round trip (CacheService.open). */
export type CacheOpening<A = CachedAnswer> =
  { readonly status: 'hit'; readonly answer: A } | CacheMiss<A>;

declare const cacheKeyBrand: unique symbol;

/**
 * The identity of a cacheable request. Only `CacheService.key()` and `embeddingKey()` make one (the
 * brand keeps a hand-built object from type-checking), and it carries the tenant it was built for,
 * so an entry can never be read or written for another tenant, and the codec of its kind of answer,
 * so an entry is always read as what it was written as.
 */
export interface CacheKey<A = CachedAnswer> {
  readonly tenantId: string;
  /** SHA-256 (hex) of the canonical JSON of tenant, model alias and output-affecting parameters. */
  readonly digest: string;
  readonly codec: AnswerCodec<A>;
  readonly [cacheKeyBrand]: true;
}
