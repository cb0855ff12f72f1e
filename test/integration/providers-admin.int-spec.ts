/*
 * The providers lib through the real app over HTTP: the admin views of providers and models, an
 * outage showing within 5 s, and a completion served by the fallback with its attempts returned.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTenant, startGateway, type TestGateway } from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import { PRIMARY_KEY, SECONDARY_KEY, twoProviderCatalog, waitFor } from '../support/providers';

jest.setTimeout(60_000);

describe('providers admin routes and fallback over HTTP', () => {
  let primary: FakeUpstream;
  let secondary: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    primary = await startFakeUpstream({ name: 'primary', apiKey: PRIMARY_KEY });
    secondary = await startFakeUpstream({ name: 'secondary', apiKey: SECONDARY_KEY });
    const dir = mkdtempSync(join(tmpdir(), 'llmgw-prov-admin-'));
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(
      catalog,
      twoProviderCatalog({ primary: { timeout_ms: 1000 }, secondary: { timeout_ms: 1000 } }),
    );
    gw = await startGateway({
      catalog,
      env: { PRIMARY_URL: primary.url, SECONDARY_URL: secondary.url },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await primary.close();
    await secondary.close();
  });

  async function providersView() {
    const res = await gw.http().get('/api/v1/admin/providers').set('X-API-Key', gw.adminKey);
    expect(res.status).toBe(200);
    return res.body as {
      data: Array<{ provider: string; status: string; circuit: string; last_error: string | null }>;
    };
  }

  it('GET /api/v1/admin/providers: every provider with status, circuit, last error', async () => {
    await waitFor(() => primary.stats().models > 0 && secondary.stats().models > 0, 3000);
    const body = await providersView();
    expect(body.data.map((r) => r.provider)).toEqual(['primary', 'secondary']);
    for (const row of body.data) {
      expect(row).toEqual({
        provider: expect.any(String),
        status: 'up',
        circuit: 'closed',
        last_error: null,
        last_checked_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    }
    expect(JSON.stringify(body)).not.toContain('SECRET');
  });

  it('GET /api/v1/admin/models: aliases, routes in order, prices per 1M and max output', async () => {
    const res = await gw.http().get('/api/v1/admin/models').set('X-API-Key', gw.adminKey);
    expect(res.status).toBe(200);
    const chat = (res.body.data as Array<{ model: string; routes: unknown[] }>).find(
      (m) => m.model === 'chat',
    );
    expect(chat?.routes).toEqual([
      {
        provider: 'primary',
        model: 'gpt-4o-mini',
        input_per_1m: 0.15,
        output_per_1m: 0.6,
        max_output_tokens: 16384,
      },
      {
        provider: 'secondary',
        model: 'claude-3-5-haiku-latest',
        input_per_1m: 0.8,
        output_per_1m: 4,
        max_output_tokens: 8192,
      },
    ]);
  });

  it('admin only: a tenant key gets 403, no key 401', async () => {
    const t = await createTenant(gw);
    const asTenant = await gw.http().get('/api/v1/admin/providers').set('X-API-Key', t.api_key);
    expect(asTenant.status).toBe(403);
    const anonymous = await gw.http().get('/api/v1/admin/models');
    expect(anonymous.status).toBe(401);
  });

  it('the OpenAPI document covers both routes', async () => {
    const res = await gw.http().get('/docs-json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/admin/providers', '/api/v1/admin/models']),
    );
  });

  it('a completion whose primary fails is answered by the fallback, attempts in the answer', async () => {
    const t = await createTenant(gw);
    await primary.setMode('503');
    const res = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', t.api_key)
      .send({ model: 'chat', messages: [{ role: 'user', content: 'fallback please' }] });
    await primary.setMode('ok');
    expect(res.status).toBe(200);
    expect(res.body.response.provider).toBe('secondary');
    expect(res.body.response.content).toBe('fake answer from secondary: fallback please');
    expect(res.headers['x-gateway-provider']).toBe('secondary');
    expect(res.body.attempts.map((a: { provider: string }) => a.provider)).toEqual([
      'primary',
      'primary',
      'secondary',
    ]);
    // The Anthropic fake got its own key.
    expect(secondary.lastChatRequest?.headers['x-api-key']).toBe(SECONDARY_KEY);
    expect(JSON.stringify(res.body)).not.toContain('SECRET');
  });

  it('an outage shows in GET /api/v1/admin/providers within 5 s, with no traffic', async () => {
    await primary.setMode('refuse');
    const t0 = Date.now();
    let row: { status: string; circuit: string; last_error: string | null } | undefined;
    while (Date.now() - t0 < 8000) {
      row = (await providersView()).data.find((r) => r.provider === 'primary');
      if (row?.status === 'down') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const shownAfter = Date.now() - t0;
    await primary.setMode('ok');
    expect(row).toMatchObject({
      status: 'down',
      circuit: 'open',
      last_error: 'health check: connection: connection refused',
    });
    expect(shownAfter).toBeLessThan(5000);
    const health = await gw.http().get('/health');
    expect(health.body.status).toBe('degraded'); // `primary-only` has no route left
  });
});
