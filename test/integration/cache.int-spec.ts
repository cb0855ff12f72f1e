import Redis from 'ioredis';
import type { CacheControls } from '@gateway/cache';
import type { TenantContext } from '@gateway/context';
import type { ChatRequest } from '@gateway/providers';
import {
  answer,
  type CacheInstance,
  cacheCount,
  chat,
  dropPrefix,
  keysOf,
  REDIS_URL,
  sleep,
  startCache,
  tenant,
  uniquePrefix,
} from '../support/cache';

const PREFIX = uniquePrefix('matrix');
const DEFAULT: CacheControls = { lookup: true, store: true };

describe('response cache (real Redis)', () => {
  let c: CacheInstance;

  beforeAll(async () => {
    c = await startCache(PREFIX);
  });
  afterAll(async () => {
    await c.close();
    await dropPrefix(PREFIX);
  });

  /** A miss that stores `content` through the normal path (one lookup that leads, then the call). */
  async function prime(t: TenantContext, req: ChatRequest, content: string, model = 'gpt-4o-mini') {
    const key = c.cache.key(t, model, req);
    const out = await c.coalesce(t, key, DEFAULT, () => Promise.resolve(answer(content)));
    expect(out).toMatchObject({ leader: true, hit: false });
  }

  async function status(
    t: TenantContext,
    req: ChatRequest,
    model = 'gpt-4o-mini',
    controls = DEFAULT,
  ) {
    return (await c.lookup(t, c.cache.key(t, model, req), controls)).status;
  }

  describe('hit/miss matrix', () => {
    const t = tenant();
    const req = chat({
      topP: 0.9,
      stop: ['END'],
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      seed: 7,
    });

    beforeAll(() => prime(t, req, 'Click "Forgot password" on the sign-in page.'));

    it('the same request is a hit with the original answer', async () => {
      const hit = await c.lookup(t, c.cache.key(t, 'gpt-4o-mini', req), DEFAULT);
      expect(hit).toEqual({
        status: 'hit',
        answer: answer('Click "Forgot password" on the sign-in page.'),
      });
    });

    it('another tenant misses the same request', async () => {
      expect(await status(tenant(), req)).toBe('miss');
    });

    it('parameters in another order hit', async () => {
      const reordered = Object.fromEntries(Object.entries(req).reverse()) as unknown as ChatRequest;
      const messages = req.messages.map((m) => ({ content: m.content, role: m.role }));
      expect(await status(t, { ...reordered, messages })).toBe('hit');
    });

    it('a different user still hits (user does not count)', async () => {
      expect(await status(t, { ...req, user: 'someone-else' })).toBe('hit');
    });

    it('another requested model misses', async () => {
      expect(await status(t, req, 'claude-haiku')).toBe('miss');
    });

    it.each<[string, Partial<ChatRequest>]>([
      ['messages', { messages: [{ role: 'user', content: 'How do I reset my password' }] }],
      ['max_tokens', { maxTokens: 201 }],
      ['temperature', { temperature: 0.3 }],
      ['top_p', { topP: 0.8 }],
      ['stop', { stop: ['STOP'] }],
      ['seed', { seed: 8 }],
      ['presence_penalty', { presencePenalty: 0.5 }],
      ['frequency_penalty', { frequencyPenalty: 0.5 }],
    ])('changing %s misses', async (_name, change) => {
      expect(await status(t, { ...req, ...change })).toBe('miss');
    });
  });

  describe('Cache-Control', () => {
    it('no-cache skips the lookup (miss) but stores the fresh answer', async () => {
      const t = tenant();
      const req = chat({ seed: 1 });
      await prime(t, req, 'old answer');
      const noCache = c.cache.controls('no-cache');
      const key = c.cache.key(t, 'gpt-4o-mini', req);
      expect(await c.lookup(t, key, noCache)).toEqual({ status: 'miss' });
      let calls = 0;
      const out = await c.coalesce(t, key, noCache, () => {
        calls++;
        return Promise.resolve(answer('fresh answer'));
      });
      expect(calls).toBe(1);
      expect(out).toEqual({ answer: answer('fresh answer'), leader: true, hit: false });
      const next = await c.lookup(t, key, DEFAULT);
      expect(next.status === 'hit' && next.answer.content).toBe('fresh answer');
    });

    it('no-store neither looks up (bypass) nor stores', async () => {
      const t = tenant();
      const req = chat({ seed: 2 });
      const noStore = c.cache.controls('no-store');
      const key = c.cache.key(t, 'gpt-4o-mini', req);
      expect(await c.lookup(t, key, noStore)).toEqual({ status: 'bypass' });
      const out = await c.coalesce(t, key, noStore, () => Promise.resolve(answer('private')));
      expect(out.leader).toBe(true);
      expect(await status(t, req)).toBe('miss');
    });

    it('counts llm_gateway_cache_requests_total by result', async () => {
      const before = {
        hit: await cacheCount(c.metrics, 'hit'),
        miss: await cacheCount(c.metrics, 'miss'),
        bypass: await cacheCount(c.metrics, 'bypass'),
      };
      const t = tenant();
      await prime(t, chat({ seed: 3 }), 'x'); // miss
      await status(t, chat({ seed: 3 })); // hit
      await status(t, chat({ seed: 3 }), 'gpt-4o-mini', c.cache.controls('no-store')); // bypass
      await status(t, chat({ seed: 3 }), 'gpt-4o-mini', c.cache.controls('no-cache')); // miss
      expect(await cacheCount(c.metrics, 'hit')).toBe(before.hit + 1);
      expect(await cacheCount(c.metrics, 'miss')).toBe(before.miss + 2);
      expect(await cacheCount(c.metrics, 'bypass')).toBe(before.bypass + 1);
    });
  });

  describe('TTL', () => {
    it("expires after the tenant's cache_ttl_seconds", async () => {
      const t = tenant({ cacheTtlSeconds: 1 });
      const req = chat({ seed: 10 });
      await prime(t, req, 'short-lived');
      expect(await status(t, req)).toBe('hit');
      await sleep(1_150);
      expect(await status(t, req)).toBe('miss');
    });

    it('defaults to 3600 s', async () => {
      const t = tenant();
      await prime(t, chat({ seed: 11 }), 'long-lived');
      const r = new Redis(REDIS_URL, { db: 1 });
      try {
        const [k] = (await keysOf(r, `${PREFIX}{t:${t.tenantId}}:cache:e:`)) as [string];
        const ttl = await r.pttl(k);
        expect(ttl).toBeGreaterThan(3_590_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      } finally {
        r.disconnect();
      }
    });

    it('cache_ttl_seconds 0 stores nothing', async () => {
      const t = tenant({ cacheTtlSeconds: 0 });
      const req = chat({ seed: 12 });
      const key = c.cache.key(t, 'gpt-4o-mini', req);
      await c.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('no')));
      expect(await status(t, req)).toBe('miss');
    });
  });

  describe('flush', () => {
    it("a tenant flush drops that tenant's entries only", async () => {
      const a = tenant();
      const b = tenant();
      const req = chat({ seed: 20 });
      await prime(a, req, 'a');
      await prime(b, req, 'b');
      await c.cache.flushTenant(a.tenantId);
      expect(await status(a, req)).toBe('miss');
      expect(await status(b, req)).toBe('hit');
      await prime(a, req, 'a2');
      expect(await status(a, req)).toBe('hit');
    });

    it('the admin flush-all drops every tenant', async () => {
      const a = tenant();
      const b = tenant();
      const req = chat({ seed: 21 });
      await prime(a, req, 'a');
      await prime(b, req, 'b');
      await c.cache.flushAll();
      expect(await status(a, req)).toBe('miss');
      expect(await status(b, req)).toBe('miss');
    });

    it('is visible at once to another instance', async () => {
      const other = await startCache(PREFIX);
      try {
        const t = tenant();
        const req = chat({ seed: 22 });
        await prime(t, req, 'shared');
        const key = other.cache.key(t, 'gpt-4o-mini', req);
        expect((await other.lookup(t, key, DEFAULT)).status).toBe('hit');
        await c.cache.flushTenant(t.tenantId);
        expect((await other.lookup(t, key, DEFAULT)).status).toBe('miss');
      } finally {
        await other.close();
      }
    });
  });

  describe('what is never cached', () => {
    it('nothing is stored when compute() throws', async () => {
      const t = tenant();
      const req = chat({ seed: 30 });
      const key = c.cache.key(t, 'gpt-4o-mini', req);
      const upstream500 = new Error('upstream 500');
      await expect(c.coalesce(t, key, DEFAULT, () => Promise.reject(upstream500))).rejects.toBe(
        upstream500,
      );
      expect(await status(t, req)).toBe('miss');
      // The lock was released: the next caller leads at once.
      const out = await c.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('ok')));
      expect(out.leader).toBe(true);
      expect(await status(t, req)).toBe('hit');
    });

    it.each<[string, Record<string, unknown>]>([
      ['empty content', { content: '' }],
      ['content filtered', { finishReason: 'content_filter' }],
      ['missing token counts', { promptTokens: undefined }],
      ['no provider', { provider: '' }],
    ])('a malformed answer (%s) is returned but not stored', async (_name, change) => {
      const t = tenant();
      const req = chat({ seed: 31 });
      const key = c.cache.key(t, 'gpt-4o-mini', req);
      const bad = { ...answer('x'), ...change } as never;
      const out = await c.coalesce(t, key, DEFAULT, () => Promise.resolve(bad));
      expect(out).toEqual({ answer: bad, leader: true, hit: false });
      expect(await status(t, req)).toBe('miss');
    });
  });

  describe('storage', () => {
    it('keeps entries in the cache database, not with limiter keys', async () => {
      const t = tenant();
      await prime(t, chat({ seed: 40 }), 'where am I');
      const db0 = new Redis(REDIS_URL, { db: 0 });
      const db1 = new Redis(REDIS_URL, { db: 1 });
      try {
        const tenantKeys = `${PREFIX}{t:${t.tenantId}}:`;
        expect(await keysOf(db0, tenantKeys)).toEqual([]);
        expect((await keysOf(db1, tenantKeys)).some((k) => k.includes(':cache:e:'))).toBe(true);
      } finally {
        db0.disconnect();
        db1.disconnect();
      }
    });

    it('compresses large answers and serves them back intact', async () => {
      const t = tenant();
      const req = chat({ seed: 41 });
      const long =
        'To reset your password, open Settings, then Security, then choose Reset. '.repeat(100);
      await prime(t, req, long);
      const hit = await c.lookup(t, c.cache.key(t, 'gpt-4o-mini', req), DEFAULT);
      expect(hit.status === 'hit' && hit.answer.content).toBe(long);
      const db1 = new Redis(REDIS_URL, { db: 1 });
      try {
        const [k] = (await keysOf(db1, `${PREFIX}{t:${t.tenantId}}:cache:e:`)) as [string];
        const stored = await db1.getBuffer(k);
        expect(stored!.length).toBeLessThan(long.length / 5);
      } finally {
        db1.disconnect();
      }
    });

    it('refuses a key built for another tenant', async () => {
      const key = c.cache.key(tenant(), 'gpt-4o-mini', chat());
      await expect(c.lookup(tenant(), key, DEFAULT)).rejects.toThrow(/another tenant/);
    });
  });
});
