import { randomBytes } from 'node:crypto';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';

/*
 * Usage and chargeback over HTTP against the real app: completions answered by fake OpenAI and
 * Anthropic servers and by the cache, then read back through the tenant and admin reports.
 */

/** A response's USD cost as integer units of 1e-10 USD (exact for any contract cost). */
const units = (usd: number) => BigInt(Math.round(usd * 1e10));
const usd = (u: bigint) => Number(`${u}e-10`);

describe('usage and chargeback reports (e2e)', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let a: CreatedTenant;
  let b: CreatedTenant;
  const spent: Record<string, { requests: number; tokens: number; units: bigint }> = {};

  const complete = (key: string, model: string, text: string) =>
    gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', key)
      .send({ model, messages: [{ role: 'user', content: text }], max_tokens: 50 });

  function tally(provider: string, body: { cost: number; response: { total_tokens: number } }) {
    const row = (spent[provider] ??= { requests: 0, tokens: 0, units: 0n });
    row.requests++;
    row.tokens += body.response.total_tokens;
    row.units += units(body.cost);
  }

  beforeAll(async () => {
    fake = await startFakeUpstream({ name: 'fake' });
    gw = await startGateway({
      env: { OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url },
    });
    // A name a CSV must quote.
    a = await createTenant(gw, { name: 'Acme, Research', rate_limit: 1000, monthly_budget: 50 });
    b = await createTenant(gw, { rate_limit: 1000, monthly_budget: 50 });

    const prompts = ['one two three', 'four five six seven', 'eight nine ten eleven twelve'];
    for (const p of prompts) {
      const res = await complete(
        a.api_key,
        'gpt-4o-mini',
        `${p} ${randomBytes(4).toString('hex')}`,
      );
      expect(res.status).toBe(200);
      tally(res.body.response.provider, res.body);
    }
    for (let i = 0; i < 2; i++) {
      const res = await complete(
        a.api_key,
        'claude-haiku',
        `haiku ${i} ${randomBytes(4).toString('hex')}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.response.provider).toBe('anthropic');
      tally('anthropic', res.body);
    }
    const first = `repeat me ${randomBytes(4).toString('hex')}`;
    const miss = await complete(a.api_key, 'gpt-4o-mini', first);
    tally(miss.body.response.provider, miss.body);
    const hit = await complete(a.api_key, 'gpt-4o-mini', first);
    expect(hit.body.cached).toBe(true);
    tally('cache', hit.body);
    // Refused before any provider: audit only, not usage.
    expect((await complete(a.api_key, 'no-such-model', 'x')).status).toBe(404);
  });

  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it("GET /api/v1/usage shows the caller's usage by provider, exactly as the responses said", async () => {
    const res = await gw.http().get('/api/v1/usage?days=1').set('X-API-Key', a.api_key);
    expect(res.status).toBe(200);
    expect(res.body.tenant_id).toBe(a.tenant_id);
    expect(res.body.tenant_name).toBe('Acme, Research');
    expect(res.body.period_days).toBe(1);
    const rows = res.body.usage_by_provider as Array<Record<string, number | string>>;
    expect(rows.map((r) => r.provider).sort()).toEqual(Object.keys(spent).sort());
    for (const row of rows) {
      const want = spent[row.provider as string];
      expect(row).toEqual({
        provider: row.provider,
        requests: want.requests,
        tokens: want.tokens,
        cost: usd(want.units),
        avg_latency_ms: expect.any(Number),
      });
    }
    expect(rows.find((r) => r.provider === 'cache')?.cost).toBe(0);
  });

  it('the admin sees the same report; an unknown tenant is a 404; days defaults to 30', async () => {
    const own = await gw.http().get('/api/v1/usage?days=1').set('X-API-Key', a.api_key);
    const admin = await gw
      .http()
      .get(`/api/v1/admin/tenants/${a.tenant_id}/usage?days=1`)
      .set('X-API-Key', gw.adminKey);
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual(own.body);
    const dflt = await gw
      .http()
      .get(`/api/v1/admin/tenants/${a.tenant_id}/usage`)
      .set('X-API-Key', gw.adminKey);
    expect(dflt.body.period_days).toBe(30);
    const missing = await gw
      .http()
      .get('/api/v1/admin/tenants/5b0f0d1e-0000-4000-8000-000000000000/usage')
      .set('X-API-Key', gw.adminKey);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('tenant B cannot read or be shown tenant A usage through any route', async () => {
    // Naming another tenant in the query is refused outright (unknown parameter), never obeyed.
    const named = await gw
      .http()
      .get(`/api/v1/usage?days=1&tenant_id=${a.tenant_id}`)
      .set('X-API-Key', b.api_key);
    expect([named.status, named.body.error.param]).toEqual([400, 'tenant_id']);
    const empty = await gw
      .http()
      .get('/api/v1/usage?days=1')
      .set('X-API-Key', b.api_key)
      .set('X-Tenant-Id', a.tenant_id);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      tenant_id: b.tenant_id,
      tenant_name: b.name,
      period_days: 1,
      usage_by_provider: [],
    });

    const mine = await complete(
      b.api_key,
      'gpt-4o-mini',
      `b only ${randomBytes(4).toString('hex')}`,
    );
    const own = await gw.http().get('/api/v1/usage?days=1').set('X-API-Key', b.api_key);
    expect(own.body.usage_by_provider).toEqual([
      expect.objectContaining({
        provider: mine.body.response.provider,
        requests: 1,
        cost: mine.body.cost,
      }),
    ]);

    for (const path of [
      `/api/v1/admin/tenants/${a.tenant_id}/usage`,
      '/api/v1/admin/usage?group_by=tenant',
      `/api/v1/admin/audit?tenant_id=${a.tenant_id}`,
    ]) {
      const res = await gw.http().get(path).set('X-API-Key', b.api_key);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('wrong_key_scope');
    }
  });

  it('the chargeback report groups by tenant and provider with exact totals, as JSON and CSV', async () => {
    const res = await gw
      .http()
      .get('/api/v1/admin/usage?group_by=tenant,provider')
      .set('X-API-Key', gw.adminKey);
    expect(res.status).toBe(200);
    expect(res.body.group_by).toEqual(['tenant', 'provider']);
    const rowsA = (res.body.data as Array<Record<string, string | number>>).filter(
      (r) => r.tenant === a.tenant_id,
    );
    let totalA = 0n;
    for (const row of rowsA) {
      expect(row.tenant_name).toBe('Acme, Research');
      const provider = row.provider as string;
      const answered = spent[provider];
      const hits = spent.cache?.requests ?? 0;
      // Cache hits count under the provider that made the original answer, at cost 0.
      expect(row.cache_hits).toBe(provider === 'openai' ? hits : 0);
      expect(row.requests).toBe(answered.requests + (provider === 'openai' ? hits : 0));
      expect(row.cost).toBe(usd(answered.units));
      totalA += units(row.cost as number);
    }
    expect(totalA).toBe(Object.values(spent).reduce((s, r) => s + r.units, 0n));
    const totalUnits = (res.body.data as Array<{ cost: number }>).reduce(
      (s, r) => s + units(r.cost),
      0n,
    );
    expect(res.body.totals.cost).toBe(usd(totalUnits));

    const csv = await gw
      .http()
      .get('/api/v1/admin/usage?group_by=tenant&format=csv')
      .set('X-API-Key', gw.adminKey);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'tenant,tenant_id,tenant_name,requests,prompt_tokens,completion_tokens,cost,cache_hits,cost_saved',
    );
    const prefixA = `${a.tenant_id},${a.tenant_id},"Acme, Research",`;
    const lineA = lines.find((l) => l.startsWith(prefixA))!;
    // CSV money is an exact decimal string: parse it without floating point.
    const [whole, frac = ''] = lineA.slice(prefixA.length).split(',')[3].split('.');
    expect(BigInt(whole) * 10_000_000_000n + BigInt(frac.padEnd(10, '0'))).toBe(
      Object.values(spent).reduce((s, r) => s + r.units, 0n),
    );
  });

  it('refuses bad report parameters with a 400 naming them', async () => {
    for (const [path, param] of [
      ['/api/v1/admin/usage?group_by=tenant,week', 'group_by'],
      ['/api/v1/admin/usage?from=not-a-date', 'from'],
      ['/api/v1/admin/usage?from=2025-03-01&to=2025-02-01', 'from'],
      ['/api/v1/admin/usage?format=xlsx', 'format'],
    ]) {
      const res = await gw.http().get(path).set('X-API-Key', gw.adminKey);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
    }
    const days = await gw.http().get('/api/v1/usage?days=abc').set('X-API-Key', a.api_key);
    expect(days.status).toBe(400);
    expect(days.body.error.param).toBe('days');
  });
});
