import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import {
  auditOf,
  createTenant,
  startGateway,
  type CreatedTenant,
  type TestGateway,
} from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';

/** A question nobody else in this run asks, so tests do not share entries by accident. */
function body(extra: Record<string, unknown> = {}) {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are Acme support.' },
      { role: 'user', content: `How do I reset my password? (${randomBytes(4).toString('hex')})` },
    ],
    temperature: 0.2,
    max_tokens: 100,
    ...extra,
  };
}

describe('response cache over HTTP (e2e, fake OpenAI upstream)', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let tenant: CreatedTenant;

  beforeAll(async () => {
    fake = await startFakeUpstream({ name: 'openai' });
    // The fake speaks both wire formats: claude-haiku (anthropic) answers too.
    gw = await startGateway({
      env: { OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url },
    });
    tenant = await createTenant(gw, { rate_limit: 1000, monthly_budget: 50 });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const complete = (key: string, payload: object, cacheControl?: string) => {
    const req = gw.http().post('/api/v1/completions').set('X-API-Key', key);
    if (cacheControl) req.set('Cache-Control', cacheControl);
    return req.send(payload);
  };

  it('a repeated request is a HIT: cached, cost 0, original provider and tokens, cost_saved recorded', async () => {
    const payload = body();
    const before = fake.stats().chat;
    const miss = await complete(tenant.api_key, payload);
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.headers['cache-control']).toBe('private, no-store');
    expect(miss.body.cached).toBe(false);
    expect(miss.body.cost).toBeGreaterThan(0);

    // Key order, whitespace and `user` do not matter.
    const reordered = {
      user: 'someone',
      max_tokens: 100,
      temperature: 0.2,
      messages: payload.messages,
      model: 'gpt-4o-mini',
    };
    const hit = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', tenant.api_key)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(reordered, null, 4));
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['cache-control']).toBe('private, no-store');
    expect(hit.body.cached).toBe(true);
    expect(hit.body.cost).toBe(0);
    expect(hit.body.response).toEqual(miss.body.response);
    expect(hit.headers['x-gateway-provider']).toBe('openai');
    expect(fake.stats().chat).toBe(before + 1);

    const records = await auditOf(gw, tenant.tenant_id);
    const hitRecord = records.find((r) => r.request_id === hit.body.request_id)!;
    expect(hitRecord).toMatchObject({
      outcome: 'cached',
      cached: true,
      cost: 0,
      cost_saved: miss.body.cost,
      provider: 'openai',
      prompt_tokens: miss.body.response.prompt_tokens,
      completion_tokens: miss.body.response.completion_tokens,
    });
    const missRecord = records.find((r) => r.request_id === miss.body.request_id)!;
    expect(missRecord).toMatchObject({ outcome: 'success', cached: false, cost: miss.body.cost });
  });

  it('the OpenAI-format endpoint shares the cache and carries X-Cache', async () => {
    const payload = body();
    const first = await gw
      .http()
      .post('/v1/chat/completions')
      .set('Authorization', `Bearer ${tenant.api_key}`)
      .send(payload);
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await complete(tenant.api_key, payload);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body.response.content).toBe(first.body.choices[0].message.content);
  });

  it('each output-affecting parameter, the model and the tenant change the key', async () => {
    const payload = body({
      top_p: 0.9,
      seed: 1,
      stop: ['END'],
      presence_penalty: 0,
      frequency_penalty: 0,
    });
    expect((await complete(tenant.api_key, payload)).headers['x-cache']).toBe('MISS');
    expect((await complete(tenant.api_key, payload)).headers['x-cache']).toBe('HIT');
    for (const change of [
      { max_tokens: 101 },
      { temperature: 0.3 },
      { top_p: 0.8 },
      { seed: 2 },
      { stop: ['STOP'] },
      { presence_penalty: 0.5 },
      { frequency_penalty: 0.5 },
      { model: 'claude-haiku' },
    ]) {
      const res = await complete(tenant.api_key, { ...payload, ...change });
      expect([res.status, res.headers['x-cache'], change]).toEqual([200, 'MISS', change]);
    }
    const other = await createTenant(gw);
    expect((await complete(other.api_key, payload)).headers['x-cache']).toBe('MISS');
  });

  it('Cache-Control: no-cache → MISS and refreshed; no-store → BYPASS and not stored', async () => {
    const payload = body();
    await complete(tenant.api_key, payload);
    const before = fake.stats().chat;
    const noCache = await complete(tenant.api_key, payload, 'no-cache');
    expect(noCache.headers['x-cache']).toBe('MISS');
    expect(noCache.body.cached).toBe(false);
    expect(fake.stats().chat).toBe(before + 1);

    const fresh = body();
    const noStore = await complete(tenant.api_key, fresh, 'no-store');
    expect(noStore.headers['x-cache']).toBe('BYPASS');
    expect(noStore.body.cached).toBe(false);
    expect((await complete(tenant.api_key, fresh)).headers['x-cache']).toBe('MISS');
  });

  it('an upstream failure is never cached', async () => {
    const payload = body();
    await fake.setMode('500');
    try {
      const failed = await complete(tenant.api_key, payload);
      expect(failed.status).toBeGreaterThanOrEqual(500);
    } finally {
      await fake.setMode('ok');
    }
    const next = await complete(tenant.api_key, payload);
    expect(next.status).toBe(200);
    expect(next.headers['x-cache']).toBe('MISS');
  });

  it('DELETE /api/v1/cache flushes the caller only', async () => {
    const other = await createTenant(gw);
    const payload = body();
    await complete(tenant.api_key, payload);
    await complete(other.api_key, payload);
    const del = await gw.http().delete('/api/v1/cache').set('X-API-Key', tenant.api_key);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await complete(tenant.api_key, payload)).headers['x-cache']).toBe('MISS');
    expect((await complete(other.api_key, payload)).headers['x-cache']).toBe('HIT');
    // An admin key is not a tenant.
    expect((await gw.http().delete('/api/v1/cache').set('X-API-Key', gw.adminKey)).status).toBe(
      403,
    );
    expect((await gw.http().delete('/api/v1/cache')).status).toBe(401);
  });

  it('DELETE /api/v1/admin/cache flushes one tenant, or everyone', async () => {
    const a = await createTenant(gw);
    const b = await createTenant(gw);
    const payload = body();
    await complete(a.api_key, payload);
    await complete(b.api_key, payload);
    const admin = (path: string) => gw.http().delete(path).set('X-API-Key', gw.adminKey);

    expect((await admin(`/api/v1/admin/cache?tenant_id=${a.tenant_id}`)).status).toBe(204);
    expect((await complete(a.api_key, payload)).headers['x-cache']).toBe('MISS');
    expect((await complete(b.api_key, payload)).headers['x-cache']).toBe('HIT');

    const all = await admin('/api/v1/admin/cache');
    expect(all.status).toBe(204);
    expect(all.text).toBe('');
    expect((await complete(a.api_key, payload)).headers['x-cache']).toBe('MISS');
    expect((await complete(b.api_key, payload)).headers['x-cache']).toBe('MISS');

    const unknown = await admin(
      '/api/v1/admin/cache?tenant_id=00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const tenantKey = await gw.http().delete('/api/v1/admin/cache').set('X-API-Key', a.api_key);
    expect(tenantKey.status).toBe(403);
  });

  it('a miss refused by admission releases its coalescing lock at once', async () => {
    // The lookup takes the lock before admission; a 429 must not leave identical requests
    // waiting out the lease (CACHE_COALESCE_WAIT_MS / 4 = 30 s here) for a call never made.
    const limited = await createTenant(gw, { rate_limit: 1, monthly_budget: 50 });
    expect((await complete(limited.api_key, body())).status).toBe(200);
    const refused = await complete(limited.api_key, body());
    expect(refused.status).toBe(429);
    const redis = new Redis(gw.config.redis.url, { db: gw.config.cache.redisDb });
    try {
      const pattern = `${gw.redisKeyPrefix}{t:${limited.tenant_id}}:cache:lock:*`;
      const locks = async () => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
          found.push(...keys);
          cursor = next;
        } while (cursor !== '0');
        return found;
      };
      const deadline = Date.now() + 1_000;
      let held = await locks();
      while (held.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        held = await locks();
      }
      expect(held).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('a hit is served when the budget cannot afford a miss, and holds none of the budget', async () => {
    // Admission goes out as a miss alongside the lookup; a hit must still be judged as a hit.
    const poor = await createTenant(gw, { rate_limit: 1000, monthly_budget: 50 });
    const payload = body();
    expect((await complete(poor.api_key, payload)).headers['x-cache']).toBe('MISS');
    const admin = (path: string) => gw.http().get(path).set('X-API-Key', gw.adminKey);
    const patched = await gw
      .http()
      .patch(`/api/v1/admin/tenants/${poor.tenant_id}`)
      .set('X-API-Key', gw.adminKey)
      .send({ monthly_budget: 0.0000001 });
    expect(patched.status).toBe(200);

    const hit = await complete(poor.api_key, payload);
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.cost).toBe(0);
    const refused = await complete(poor.api_key, body());
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('budget_exceeded');

    // Restore a budget a miss fits in: a hit's speculative reservation is handed back at once.
    await gw
      .http()
      .patch(`/api/v1/admin/tenants/${poor.tenant_id}`)
      .set('X-API-Key', gw.adminKey)
      .send({ monthly_budget: 50 });
    expect((await complete(poor.api_key, payload)).headers['x-cache']).toBe('HIT');
    const deadline = Date.now() + 2_000;
    let reserved = -1;
    while (Date.now() < deadline) {
      reserved = (await admin(`/api/v1/admin/tenants/${poor.tenant_id}`)).body.reserved_usd;
      if (reserved === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(reserved).toBe(0);
  });

  it('counts llm_gateway_cache_requests_total by result', async () => {
    const res = await gw.http().get('/metrics');
    expect(res.text).toMatch(/llm_gateway_cache_requests_total\{result="hit"\} [1-9]/);
    expect(res.text).toMatch(/llm_gateway_cache_requests_total\{result="miss"\} [1-9]/);
    expect(res.text).toMatch(/llm_gateway_cache_requests_total\{result="bypass"\} [1-9]/);
    // The extension histogram times the lookups; a miss's lock attempt is the same round trip.
    expect(res.text).toMatch(
      /llm_gateway_cache_operation_duration_seconds_count\{operation="lookup"\} [1-9]/,
    );
    expect(res.text).not.toMatch(/operation="lock"/);
  });

  it('documents both flush routes in the OpenAPI document', async () => {
    const doc = (await gw.http().get('/docs-json')).body;
    expect(doc.paths['/api/v1/cache'].delete).toBeDefined();
    expect(doc.paths['/api/v1/admin/cache'].delete.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'tenant_id', in: 'query' })]),
    );
  });
});

describe('coalescing across two gateway instances (e2e)', () => {
  let fake: FakeUpstream;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream({ name: 'openai', mode: 'delay', delayMs: 300 });
    const env = { OPENAI_BASE_URL: `${fake.url}/v1` };
    a = await startGateway({ env });
    // The same deployment: shared database and Redis state, separate processes' worth of state.
    b = await startGateway({ env, database: a.database, redisKeyPrefix: a.redisKeyPrefix });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });

  it('20 identical concurrent requests → 1 upstream call, 20 identical answers, 20 records', async () => {
    const tenant = await createTenant(a, { rate_limit: 1000, monthly_budget: 50 });
    const payload = body();
    const before = fake.stats().chat;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b)
          .http()
          .post('/api/v1/completions')
          .set('X-API-Key', tenant.api_key)
          .send(payload),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(fake.stats().chat - before).toBe(1);
    const contents = new Set(responses.map((r) => r.body.response.content));
    expect(contents.size).toBe(1);
    const leaders = responses.filter((r) => !r.body.cached);
    expect(leaders).toHaveLength(1);
    expect(leaders[0].body.cost).toBeGreaterThan(0);
    for (const r of responses.filter((x) => x.body.cached)) {
      expect(r.body.cost).toBe(0);
      expect(r.headers['x-cache']).toBe('HIT');
      expect(r.body.response.provider).toBe('openai');
    }

    const records = await auditOf(a, tenant.tenant_id);
    const ids = new Set(responses.map((r) => r.body.request_id));
    const ours = records.filter((r) => ids.has(r.request_id));
    expect(ours).toHaveLength(20);
    expect(ours.filter((r) => r.outcome === 'success')).toHaveLength(1);
    const cached = ours.filter((r) => r.outcome === 'cached');
    expect(cached).toHaveLength(19);
    for (const r of cached)
      expect(r).toMatchObject({ cost: 0, cost_saved: leaders[0].body.cost, cached: true });
  });
});
