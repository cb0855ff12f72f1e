/* Real CacheService instances on the shared Redis, for the cache integration tests. */
import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { ConfigModule, loadConfig, type GatewayConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayMetrics, ObservabilityModule } from '@gateway/observability';
import type { ChatRequest } from '@gateway/providers';
import { RedisModule } from '@gateway/redis';
import type { CacheControls, CachedAnswer, CacheKey } from '@gateway/cache';
import { TEST_CATALOG } from './catalog';
import { SHARED_REDIS_URL as REDIS_URL } from './redis-keys';
import { tenantContext } from './tenant-context';
import { until } from './wait';

export { SHARED_REDIS_URL as REDIS_URL, dropPrefix, keysOf } from './redis-keys';
export { sleep, until } from './wait';
import { CacheService } from '../../libs/cache/src/cache.service';
import { CacheStore } from '../../libs/cache/src/cache.store';

/** What a lookup found, as the tests compare it (no fill). */
export type Found = { status: 'hit'; answer: CachedAnswer } | { status: 'miss' | 'bypass' };

export interface CacheInstance {
  cache: CacheService;
  /**
   * A lookup that leaves nothing behind: opens the cache and, on a miss, abandons the fill (so no
   * lock stays held for a later request to wait on).
   */
  lookup(t: TenantContext, key: CacheKey, controls: CacheControls): Promise<Found>;
  /**
   * What the pipeline does for one request: opens the cache and, on a miss, fills it with
   * `compute`; resolves once the answer is stored, so the next lookup sees it.
   */
  coalesce(
    t: TenantContext,
    key: CacheKey,
    controls: CacheControls,
    compute: () => Promise<CachedAnswer>,
  ): Promise<{ answer: CachedAnswer; leader: boolean; hit: boolean }>;
  store: CacheStore;
  metrics: GatewayMetrics;
  config: GatewayConfig;
  close(): Promise<void>;
}

export function uniquePrefix(label: string): string {
  return `tcache-${label}-${randomBytes(4).toString('hex')}:`;
}

/**
 * One gateway instance's cache: its own Nest context, so its own Redis connections (two instances
 * coalesce only through Redis, as two processes would).
 */
export async function startCache(
  prefix: string,
  env: Record<string, string> = {},
): Promise<CacheInstance> {
  const config = loadConfig({
    ADMIN_API_KEY: 'a'.repeat(40),
    GATEWAY_CONFIG: TEST_CATALOG,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), RedisModule, ObservabilityModule],
    providers: [CacheStore, CacheService],
  }).compile();
  const app: INestApplicationContext = await moduleRef.init();
  const store = app.get(CacheStore);
  try {
    await until(() => store.available(), 3_000);
  } catch (err) {
    await app.close();
    throw err;
  }
  const cache = app.get(CacheService);
  return {
    cache,
    lookup: async (t, key, controls) => {
      const opened = await cache.open(t, key, controls);
      if (opened.status === 'hit') return opened;
      await opened.fill.abandon();
      return { status: opened.status };
    },
    coalesce: async (t, key, controls, compute) => {
      const opened = await cache.open(t, key, controls);
      if (opened.status === 'hit') return { answer: opened.answer, leader: false, hit: true };
      const { answer, leader, stored } = await opened.fill.run(compute);
      await stored;
      return { answer, leader, hit: false };
    },
    store,
    metrics: app.get(GatewayMetrics),
    config,
    close: () => app.close(),
  };
}

/** A tenant context (cache keys demand one). */
export const tenant = tenantContext;

export function chat(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [
      { role: 'system', content: 'You are a helpful support agent.' },
      { role: 'user', content: 'How do I reset my password?' },
    ],
    maxTokens: 200,
    temperature: 0.2,
    topP: null,
    stop: null,
    presencePenalty: null,
    frequencyPenalty: null,
    seed: null,
    user: null,
    ...overrides,
  };
}

export function answer(content: string, overrides: Partial<CachedAnswer> = {}): CachedAnswer {
  return {
    content,
    finishReason: 'stop',
    promptTokens: 20,
    completionTokens: 10,
    provider: 'openai',
    providerModel: 'gpt-4o-mini-2024-07-18',
    costUnits: 90_000,
    ...overrides,
  };
}

/** The current value of llm_gateway_cache_requests_total{result}. */
export async function cacheCount(metrics: GatewayMetrics, result: string): Promise<number> {
  const m = await metrics.cacheRequests.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}
