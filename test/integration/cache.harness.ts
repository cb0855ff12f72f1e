/* Shared by the cache integration tests: real CacheService instances on a real Redis. */
import { randomBytes, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import Redis from 'ioredis';
import { ConfigModule, loadConfig, type GatewayConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayMetrics, ObservabilityModule } from '@gateway/observability';
import type { ChatRequest } from '@gateway/providers';
import { RedisModule } from '@gateway/redis';
import type { CacheControls, CachedAnswer, CacheKey } from '@gateway/cache';
import { TEST_CATALOG } from '../support/catalog';
import { CacheService } from '../../libs/cache/src/cache.service';
import { CacheStore } from '../../libs/cache/src/cache.store';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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

export async function until(ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function tenant(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId: randomUUID(),
    apiKeyId: randomUUID(),
    name: 'test',
    rateLimit: 1000,
    tokensPerMinute: null,
    monthlyBudget: null,
    providerPreferences: [],
    allowedModels: null,
    cacheTtlSeconds: null,
    alertThresholds: [0.5, 0.8, 1],
    alertWebhookUrl: null,
    alertWebhookSecret: null,
    version: 1,
    ...overrides,
  };
}

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

/** Removes every key of the test's prefix from the databases the cache may use (never FLUSHALL). */
export async function dropPrefix(prefix: string, dbs: number[] = [0, 1]): Promise<void> {
  for (const db of dbs) {
    const r = new Redis(REDIS_URL, { db, maxRetriesPerRequest: 1 });
    try {
      for (const k of await keysOf(r, prefix)) await r.del(k);
    } finally {
      r.disconnect();
    }
  }
}

export async function keysOf(r: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** The current value of llm_gateway_cache_requests_total{result}. */
export async function cacheCount(metrics: GatewayMetrics, result: string): Promise<number> {
  const m = await metrics.cacheRequests.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}
