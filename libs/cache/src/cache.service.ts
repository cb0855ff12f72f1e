import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import type { ChatRequest } from '@gateway/providers';
import { parseCacheControl } from './cache-controls';
import { CacheKeyBuilder } from './cache-key.builder';
import type { CacheControls, CachedAnswer, CacheKey, CacheLookup } from './cache.types';
import { CacheStore } from './cache.store';
import { CachedAnswerCodec, uncacheableReason } from './cached-answer.codec';
import type { LeaderSignal, Waiter } from './coalesce-waiters';

export const DEFAULT_CACHE_TTL_SECONDS = 3600;
/** How often a waiter checks the entry itself, in case the leader's message was lost. */
const POLL_INTERVAL_MS = 200;

const MISS: CacheLookup = Object.freeze({ status: 'miss' });
const BYPASS: CacheLookup = Object.freeze({ status: 'bypass' });

export interface Coalesced {
  readonly answer: CachedAnswer;
  /** True when this request called the provider (and pays for it); false for a shared answer. */
  readonly leader: boolean;
}

/**
 * The response cache's facade (issue 4, CONTRACT §5, §7, §9 Cache). Tenant-scoped, keyed by the
 * requested model and every output-affecting parameter, never by provider. Redis trouble never
 * fails a request: the cache is bypassed within one command timeout.
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');
  private readonly keys = new CacheKeyBuilder();
  private readonly codec = new CachedAnswerCodec();

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

  /** The lookup result of a request that does not engage the cache (counted as a bypass). */
  bypass(): CacheLookup {
    return this.count(BYPASS);
  }

  key(tenant: TenantContext, modelAlias: string, request: ChatRequest): CacheKey {
    return this.keys.build(tenant, modelAlias, request);
  }

  /** One Redis round trip. Counts `llm_gateway_cache_requests_total{result}` once per request. */
  async lookup(
    tenant: TenantContext,
    key: CacheKey,
    controls: CacheControls,
  ): Promise<CacheLookup> {
    assertOwnKey(tenant, key);
    if (!controls.lookup) return this.count(controls.store ? MISS : BYPASS);
    if (!this.store.available()) return this.count(BYPASS);
    if (ttlMs(tenant) <= 0) return this.count(MISS);
    let bytes: Buffer | null;
    const started = process.hrtime.bigint();
    try {
      bytes = await this.store.lookup(key);
      this.observe('lookup', started);
    } catch (err) {
      this.store.failed('cache lookup failed; bypassing', err);
      return this.count(BYPASS);
    }
    const answer = bytes === null ? null : await this.codec.decode(bytes);
    return this.count(answer === null ? MISS : { status: 'hit', answer });
  }

  /**
   * Runs `compute` at most once across all instances for identical requests in flight at the same
   * time: the first caller takes a lock in Redis and computes, the others wait for its stored answer
   * (pub/sub, with polling as a safety net) while the leader's lease is alive, up to
   * CACHE_COALESCE_WAIT_MS, and compute themselves if it fails, dies or never answers. The one that computed stores its answer (when allowed and well-formed).
   */
  async coalesce(
    tenant: TenantContext,
    key: CacheKey,
    controls: CacheControls,
    compute: () => Promise<CachedAnswer>,
  ): Promise<Coalesced> {
    assertOwnKey(tenant, key);
    const ttl = ttlMs(tenant);
    if (!controls.store || ttl <= 0 || !this.store.available()) {
      return { answer: await compute(), leader: true };
    }
    // `no-cache` wants a fresh answer: it never joins another request, but may still lead.
    const mode = controls.lookup ? 'join' : 'fresh';
    // Registered before the lock attempt so a leader finishing in between cannot be missed.
    const waiter = mode === 'join' ? this.store.watch(key) : null;
    const token = randomBytes(12).toString('base64url');
    let acquired;
    const started = process.hrtime.bigint();
    try {
      acquired = await this.store.acquire(key, token, mode);
      this.observe('lock', started);
    } catch (err) {
      waiter?.cancel();
      this.store.failed('cache lock failed; computing without coalescing', err);
      return { answer: await compute(), leader: true };
    }
    if (acquired.state !== 'follower') waiter?.cancel();
    switch (acquired.state) {
      case 'hit': {
        const answer = await this.codec.decode(acquired.value);
        if (answer) return { answer, leader: false };
        return this.computeAndStore(acquired.entry, ttl, compute);
      }
      case 'leader':
        return this.lead(key, acquired.entry, ttl, token, compute);
      case 'follower':
        return this.follow(key, acquired.entry, ttl, waiter, compute);
      case 'solo':
        return this.computeAndStore(acquired.entry, ttl, compute);
    }
  }

  private observe(operation: 'lookup' | 'lock', started: bigint): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.cacheOperationDuration.observe({ operation }, seconds);
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

  private async lead(
    key: CacheKey,
    entry: string,
    ttl: number,
    token: string,
    compute: () => Promise<CachedAnswer>,
  ): Promise<Coalesced> {
    // Keep the lease while the provider call runs, however long it takes.
    const heartbeat = setInterval(
      () =>
        void this.store
          .renew(key, token)
          .catch((e: unknown) => this.store.warn('cache lease renewal failed', e)),
      Math.max(20, Math.floor(this.store.leaseMs / 3)),
    );
    heartbeat.unref();
    let answer: CachedAnswer;
    try {
      answer = await compute();
    } catch (err) {
      // Release at once so the waiters call the provider themselves instead of timing out.
      await this.store
        .finish(key, entry, null, ttl, token)
        .catch((e: unknown) => this.store.failed('cache unlock failed', e));
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
    const bytes = await this.encode(answer);
    await this.store
      .finish(key, entry, bytes, ttl, token)
      .catch((e: unknown) => this.store.failed('cache store failed', e));
    return { answer, leader: true };
  }

  private async follow(
    key: CacheKey,
    entry: string,
    ttl: number,
    waiter: Waiter | null,
    compute: () => Promise<CachedAnswer>,
  ): Promise<Coalesced> {
    const deadline = Date.now() + this.store.maxWaitMs;
    try {
      for (let left = deadline - Date.now(); left > 0; left = deadline - Date.now()) {
        const signal = await firstOf(waiter?.signal, Math.min(POLL_INTERVAL_MS, left));
        if (signal === 'fail') break;
        const found =
          signal === 'ok' ? await this.store.get(entry) : await this.pollOnce(key, entry);
        if (found === 'gone') break;
        if (found !== 'wait' && found !== null) {
          const answer = await this.codec.decode(found);
          if (answer) return { answer, leader: false };
          break;
        }
        if (signal === 'ok') break;
      }
    } catch (err) {
      this.store.failed('cache wait failed; computing', err);
    } finally {
      waiter?.cancel();
    }
    return this.computeAndStore(entry, ttl, compute);
  }

  private async pollOnce(key: CacheKey, entry: string): Promise<Buffer | 'wait' | 'gone'> {
    const polled = await this.store.poll(key, entry);
    return polled.state === 'hit' ? polled.value : polled.state;
  }

  private async computeAndStore(
    entry: string,
    ttl: number,
    compute: () => Promise<CachedAnswer>,
  ): Promise<Coalesced> {
    const answer = await compute();
    const bytes = await this.encode(answer);
    if (bytes !== null) {
      await this.store
        .put(entry, bytes, ttl)
        .catch((e: unknown) => this.store.failed('cache store failed', e));
    }
    return { answer, leader: true };
  }

  private async encode(answer: CachedAnswer): Promise<Buffer | null> {
    const bytes = await this.codec.encode(answer);
    if (bytes === null) {
      this.logger.debug({ reason: uncacheableReason(answer) ?? 'too large' }, 'answer not cached');
    }
    return bytes;
  }

  private count(result: CacheLookup): CacheLookup {
    this.metrics.cacheRequests.inc({ result: result.status });
    return result;
  }
}

function ttlMs(tenant: TenantContext): number {
  return (tenant.cacheTtlSeconds ?? DEFAULT_CACHE_TTL_SECONDS) * 1000;
}

/** A key is bound to the tenant it was built for; using it for another is a programming error. */
function assertOwnKey(tenant: TenantContext, key: CacheKey): void {
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
