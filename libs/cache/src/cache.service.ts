import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import type { ChatRequest, EmbeddingRequest } from '@gateway/types';
import { parseCacheControl } from './cache-controls';
import { CacheKeyBuilder, type EmbeddingEncoding } from './cache-key.builder';
import type {
  CacheControls,
  CachedAnswer,
  CacheKey,
  CacheMiss,
  CacheOpening,
  Coalesced,
  EmbeddingAnswer,
} from './cache.types';
import { type Acquired, CacheStore } from './cache.store';
import type { LeaderSignal } from './coalesce-waiters';

export const DEFAULT_CACHE_TTL_SECONDS = 3600;
/** How often a waiter checks the entry itself, in case the leader's message was lost. */
const POLL_INTERVAL_MS = 200;

const STORED_NOTHING: Promise<void> = Promise.resolve();
/**
 * Lock tokens only need to be unique across instances: a random per-process prefix and a counter
 * (every lookup makes one, so no random bytes per request).
 */
const TOKEN_PREFIX = randomBytes(9).toString('base64url');
let tokenSeq = 0;
const nextLockToken = (): string => TOKEN_PREFIX + (++tokenSeq).toString(36);
/** Straight to the provider: no coalescing, nothing stored (whatever the kind of answer). */
const DIRECT = Object.freeze({
  run: async (compute: () => Promise<unknown>): Promise<Coalesced<unknown>> => ({
    answer: await compute(),
    leader: true,
    stored: STORED_NOTHING,
  }),
  abandon: () => STORED_NOTHING,
});
const MISS_DIRECT: CacheMiss<unknown> = Object.freeze({ status: 'miss', fill: DIRECT });
const BYPASS_DIRECT: CacheMiss<unknown> = Object.freeze({ status: 'bypass', fill: DIRECT });
/** The shared direct openings, typed for the answer at hand: DIRECT returns what it computes. */
const direct = <A>(opening: CacheMiss<unknown>) => opening as CacheMiss<A>;
const RESULT_LABELS = {
  hit: Object.freeze({ result: 'hit' }),
  miss: Object.freeze({ result: 'miss' }),
  bypass: Object.freeze({ result: 'bypass' }),
} as const;
const LOOKUP_LABELS = Object.freeze({ operation: 'lookup' });

/**
 * The response cache's facade (docs/caching.md). Tenant-scoped, keyed by the
 * requested model and every output-affecting parameter, never by provider. Redis trouble never
 * fails a request: the cache is bypassed within one command timeout.
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');
  private readonly keys = new CacheKeyBuilder();

  constructor(
    private readonly store: CacheStore,
    private readonly metrics: GatewayMetrics,
  ) {}

  controls(cacheControlHeader: string | undefined): CacheControls {
    return parseCacheControl(cacheControlHeader);
  }

  /** False when the controls neither read nor write the cache: no key is needed at all. */
  engages(controls: CacheControls): boolean {
    return controls.lookup || controls.store;
  }

  key(tenant: TenantContext, modelAlias: string, request: ChatRequest): CacheKey {
    return this.keys.build(tenant, modelAlias, request);
  }

  /** The key of an embeddings request; `open` it like a chat key, it reads and stores vectors. */
  embeddingKey(
    tenant: TenantContext,
    modelAlias: string,
    request: EmbeddingRequest,
    encoding: EmbeddingEncoding,
  ): CacheKey<EmbeddingAnswer> {
    return this.keys.buildEmbeddings(tenant, modelAlias, request, encoding);
  }

  /**
   * The request's one cache round trip (docs/api.md §5): answers from the cache, or takes the
   * coalescing lock, or learns that an identical request is already computing, all in one script.
   * On a miss the returned fill must be run or abandoned. Counts
   * `llm_gateway_cache_requests_total{result}` once per request.
   */
  async open<A>(
    tenant: TenantContext,
    key: CacheKey<A>,
    controls: CacheControls,
  ): Promise<CacheOpening<A>> {
    assertOwnKey(tenant, key);
    if (!controls.store)
      return this.count(direct<A>(controls.lookup ? MISS_DIRECT : BYPASS_DIRECT));
    if (!this.store.available()) return this.count(direct<A>(BYPASS_DIRECT));
    const ttl = ttlMs(tenant);
    if (ttl <= 0) return this.count(direct<A>(MISS_DIRECT));
    // `no-cache` wants a fresh answer: it never reads or joins another request, but may still lead.
    const mode = controls.lookup ? 'join' : 'fresh';
    const token = nextLockToken();
    let acquired: Acquired;
    const started = process.hrtime.bigint();
    try {
      acquired = await this.store.acquire(key, token, mode);
      this.observe(started);
    } catch (err) {
      this.store.failed('cache lookup failed; bypassing', err);
      return this.count(direct<A>(BYPASS_DIRECT));
    }
    switch (acquired.state) {
      case 'hit': {
        const answer = await key.codec.decode(acquired.value);
        if (answer) return this.count({ status: 'hit', answer });
        // An entry this version cannot read: compute and overwrite it.
        return this.count(
          this.miss<A>((compute) => this.computeAndStore(key, acquired.entry, ttl, compute)),
        );
      }
      case 'leader':
        return this.count(this.lead(key, acquired.entry, ttl, token));
      case 'follower':
        return this.count(
          this.miss<A>((compute) => this.follow(key, acquired.entry, ttl, compute)),
        );
      case 'solo':
        return this.count(
          this.miss<A>((compute) => this.computeAndStore(key, acquired.entry, ttl, compute)),
        );
    }
  }

  /** The opening of a request that does not engage the cache (`no-store`): counted as a bypass. */
  bypass<A = CachedAnswer>(): CacheMiss<A> {
    return this.count(direct<A>(BYPASS_DIRECT));
  }

  private observe(started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.cacheOperationDuration.observe(LOOKUP_LABELS, seconds);
  }

  /** O(1): bumps the tenant's generation. Throws 503 when Redis cannot take it. */
  async flushTenant(tenantId: string): Promise<void> {
    if (!tenantId) throw new Error('CacheService.flushTenant: a tenant id is required');
    try {
      await this.store.bumpTenant(tenantId);
    } catch (err) {
      throw unavailable(err);
    }
    this.logger.log({ tenantId }, 'tenant cache flushed');
  }

  /** O(1): bumps the global generation that is part of every entry key. */
  async flushAll(): Promise<void> {
    try {
      await this.store.bumpAll();
    } catch (err) {
      throw unavailable(err);
    }
    this.logger.log('whole cache flushed');
  }

  /**
   * This request holds the lock: it keeps the lease alive from now until its provider call ends
   * (however long that takes) and then stores the answer and wakes the waiters, or releases the
   * lock at once when it gives up, so the waiters call the provider themselves instead of timing
   * out.
   */
  private lead<A>(key: CacheKey<A>, entry: string, ttl: number, token: string): CacheMiss<A> {
    const heartbeat = setInterval(
      () =>
        void this.store
          .renew(key, token)
          .catch((e: unknown) => this.store.warn('cache lease renewal failed', e)),
      Math.max(20, Math.floor(this.store.leaseMs / 3)),
    );
    heartbeat.unref();
    const release = (): Promise<void> => {
      clearInterval(heartbeat);
      return this.store
        .finish(key, entry, null, ttl, token)
        .catch((e: unknown) => this.store.failed('cache unlock failed', e));
    };
    return this.miss<A>(async (compute) => {
      let answer: A;
      try {
        answer = await compute();
      } catch (err) {
        void release();
        throw err;
      }
      clearInterval(heartbeat);
      const stored = this.encode(key, answer)
        .then((bytes) => this.store.finish(key, entry, bytes, ttl, token))
        .catch((e: unknown) => this.store.failed('cache store failed', e));
      return { answer, leader: true, stored };
    }, release);
  }

  private async follow<A>(
    key: CacheKey<A>,
    entry: string,
    ttl: number,
    compute: () => Promise<A>,
  ): Promise<Coalesced<A>> {
    // Registered only now, so hits and leaders never pay for it. The leader may have finished
    // (and published to nobody) since the lookup: the first pass polls at once to close that gap.
    const waiter = this.store.watch(key);
    const deadline = Date.now() + this.store.maxWaitMs;
    try {
      let signal: LeaderSignal | 'tick' = 'tick';
      for (;;) {
        const found =
          signal === 'ok' ? await this.store.get(entry) : await this.pollOnce(key, entry);
        if (found === 'gone') break;
        if (found !== 'wait' && found !== null) {
          const answer = await key.codec.decode(found);
          if (answer) return { answer, leader: false, stored: STORED_NOTHING };
          break;
        }
        if (signal === 'ok') break;
        const left = deadline - Date.now();
        if (left <= 0) break;
        signal = await firstOf(waiter?.signal, Math.min(POLL_INTERVAL_MS, left));
        if (signal === 'fail') break;
      }
    } catch (err) {
      this.store.failed('cache wait failed; computing', err);
    } finally {
      waiter?.cancel();
    }
    return this.computeAndStore(key, entry, ttl, compute);
  }

  private async pollOnce(key: CacheKey<unknown>, entry: string): Promise<Buffer | 'wait' | 'gone'> {
    const polled = await this.store.poll(key, entry);
    return polled.state === 'hit' ? polled.value : polled.state;
  }

  private async computeAndStore<A>(
    key: CacheKey<A>,
    entry: string,
    ttl: number,
    compute: () => Promise<A>,
  ): Promise<Coalesced<A>> {
    const answer = await compute();
    const stored = this.encode(key, answer)
      .then((bytes) => (bytes === null ? undefined : this.store.put(entry, bytes, ttl)))
      .catch((e: unknown) => this.store.failed('cache store failed', e));
    return { answer, leader: true, stored };
  }

  /** A miss whose fill runs `run` at most once, or `abandon` if it is given up first. */
  private miss<A>(
    run: (compute: () => Promise<A>) => Promise<Coalesced<A>>,
    abandon: () => unknown = () => undefined,
  ): CacheMiss<A> {
    let used = false;
    return {
      status: 'miss',
      fill: {
        run: (compute) => {
          if (used) return Promise.reject(new Error('CacheFill: already run or abandoned'));
          used = true;
          return run(compute);
        },
        abandon: async () => {
          if (used) return;
          used = true;
          await abandon();
        },
      },
    };
  }

  private async encode<A>(key: CacheKey<A>, answer: A): Promise<Buffer | null> {
    const bytes = await key.codec.encode(answer);
    if (bytes === null) {
      const reason = key.codec.uncacheableReason(answer) ?? 'too large';
      this.logger.debug({ reason }, 'answer not cached');
    }
    return bytes;
  }

  private count<T extends CacheOpening<unknown>>(opening: T): T {
    this.metrics.cacheRequests.inc(RESULT_LABELS[opening.status]);
    return opening;
  }
}

function ttlMs(tenant: TenantContext): number {
  return (tenant.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS) * 1000;
}

/** A key is bound to the tenant it was built for; using it for another is a programming error. */
function assertOwnKey(tenant: TenantContext, key: CacheKey<unknown>): void {
  if (!tenant?.tenantId || key.tenantId !== tenant.tenantId) {
    throw new Error('CacheService: the cache key belongs to another tenant');
  }
}

function unavailable(cause: unknown): GatewayError {
  return new GatewayError(
    'dependency_unavailable',
    'The cache is unavailable; nothing was flushed.',
    {
      headers: { 'Retry-After': '1' },
      cause,
    },
  );
}

/** The waiter's signal if it comes within `ms`, else `'tick'`. */
async function firstOf(
  signal: Promise<LeaderSignal> | undefined,
  ms: number,
): Promise<LeaderSignal | 'tick'> {
  let timer: NodeJS.Timeout | undefined;
  const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(resolve, ms, 'tick')));
  try {
    return await (signal ? Promise.race([signal, tick]) : tick);
  } finally {
    clearTimeout(timer);
  }
}
