import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import { type GatewayProcess, spawnGateway } from '../support/process';
import { eventually } from '../support/redis-process';

/*
 * A first run without an OpenAI key, on the real built process: the provider is unconfigured, not
 * down. Its boot line names the variable, nothing is sent to it, its only-OpenAI model is not
 * listed and answers a 503 naming the key, a model with another route falls back to it, and none
 * of /health, the admin view or /metrics reads it as an outage.
 */
jest.setTimeout(60_000);

const CATALOG = `
providers:
  openai:
    type: openai
    base_url: "\${OPENAI_BASE_URL}"
    api_key: "\${OPENAI_API_KEY:-}"
    health_check: {path: /models, interval_ms: 1000}
  anthropic:
    type: anthropic
    base_url: "\${ANTHROPIC_BASE_URL}"
    api_key: "\${ANTHROPIC_API_KEY:-}"
    max_retries: 0
    health_check: {path: /v1/models, interval_ms: 1000}
  mock: {type: mock}
models:
  gpt-only:
    - {provider: openai, model: gpt-4o-mini}
  gpt-or-claude:
    - {provider: openai, model: gpt-4o-mini}
    - {provider: anthropic, model: claude-3-5-haiku-latest}
  mock-model:
    - {provider: mock, model: mock-1}
pricing:
  openai/gpt-4o-mini: {input: 0.15, output: 0.60}
  anthropic/claude-3-5-haiku-latest: {input: 0.80, output: 4.00}
  mock/mock-1: {input: 1.00, output: 2.00}
`;

interface AuditRow {
  model: string;
  status_code: number;
  outcome: string;
  provider: string | null;
  attempts: Array<{ provider: string; outcome: string; latency_ms: number }>;
}

describe('a provider without its API key (e2e, built process)', () => {
  let db: TestDatabase;
  let openai: FakeUpstream;
  let anthropic: FakeUpstream;
  let gw: GatewayProcess;
  let dir: string;
  let tenantKey: string;
  let tenantId: string;
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;

  const admin = (path: string) => fetch(`${gw.url}${path}`, { headers: { 'X-API-Key': adminKey } });
  const chat = (model: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenantKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
    });

  beforeAll(async () => {
    db = await createTestDatabase('unconfigured');
    openai = await startFakeUpstream({ name: 'openai' });
    anthropic = await startFakeUpstream({ name: 'anthropic' });
    dir = mkdtempSync(join(tmpdir(), 'llmgw-unconf-'));
    writeFileSync(join(dir, 'catalog.yaml'), CATALOG);
    gw = await spawnGateway({
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: `unconf${randomBytes(4).toString('hex')}:`,
      ADMIN_API_KEY: adminKey,
      GATEWAY_CONFIG: join(dir, 'catalog.yaml'),
      // The OpenAI base URL points at a live server, so a probe or call would be seen; no key.
      OPENAI_BASE_URL: `${openai.url}/v1`,
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-test-0000000000000000',
    });
    const res = await fetch(`${gw.url}/api/v1/admin/tenants`, {
      method: 'POST',
      headers: { 'X-API-Key': adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'first-run', rate_limit: 100, monthly_budget: 10 }),
    });
    expect(res.status).toBe(201);
    const tenant = (await res.json()) as { tenant_id: string; api_key: string };
    tenantKey = tenant.api_key;
    tenantId = tenant.tenant_id;
  });

  afterAll(async () => {
    await gw?.stop('SIGKILL');
    await openai?.close();
    await anthropic?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs one boot line naming the variable to set, and no circuit opening', () => {
    const lines = gw.output().split('\n');
    const unconfigured = lines.filter((l) => l.includes('is unconfigured'));
    expect(unconfigured).toHaveLength(1);
    expect(unconfigured[0]).toContain('provider openai is unconfigured: set OPENAI_API_KEY');
    expect(lines.filter((l) => l.includes('circuit open'))).toEqual([]);
  });

  it('GET /v1/models lists only the models a configured provider can serve', async () => {
    const res = await fetch(`${gw.url}/v1/models`, {
      headers: { Authorization: `Bearer ${tenantKey}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    expect(body.data.map((m) => m.id)).toEqual(['gpt-or-claude', 'mock-model']);
  });

  it('a model with only unconfigured routes answers 503 naming the key to set', async () => {
    const res = await chat('gpt-only');
    expect(res.status).toBe(503);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.headers.get('retry-after')).toEqual(expect.any(String));
    const body = (await res.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({
      type: 'service_unavailable',
      code: 'no_provider_available',
    });
    expect(body.error.message).toContain('set OPENAI_API_KEY');
    expect(body.error.message).toContain('openai: skipped_unconfigured');
  });

  it('a model with a configured route falls back to it; the record lists the skip', async () => {
    const res = await chat('gpt-or-claude');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-provider')).toBe('anthropic');

    const audit = await admin(`/api/v1/admin/audit?tenant_id=${tenantId}`);
    const rows = ((await audit.json()) as { data: AuditRow[] }).data;
    const answered = rows.find((r) => r.model === 'gpt-or-claude');
    expect(answered).toMatchObject({ status_code: 200, outcome: 'success', provider: 'anthropic' });
    expect(answered?.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['openai', 'skipped_unconfigured'],
      ['anthropic', 'success'],
    ]);
    const refused = rows.find((r) => r.model === 'gpt-only');
    expect(refused).toMatchObject({ status_code: 503, outcome: 'unavailable', provider: null });
    expect(refused?.attempts).toEqual([
      { provider: 'openai', outcome: 'skipped_unconfigured', latency_ms: 0 },
    ]);
  });

  it('/health stays healthy: a missing key is not a degraded route', async () => {
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'healthy', checks: { providers: 'ok' } });
  });

  it('the admin view shows it unconfigured with what to set', async () => {
    await eventually(async () => {
      const res = await admin('/api/v1/admin/providers');
      expect(res.status).toBe(200);
      const { data } = (await res.json()) as { data: Array<Record<string, unknown>> };
      expect(data.find((p) => p.provider === 'openai')).toEqual({
        provider: 'openai',
        status: 'unconfigured',
        circuit: 'closed',
        last_error: 'unconfigured: set OPENAI_API_KEY',
        last_checked_at: null,
      });
      // The configured provider is probed and up.
      expect(data.find((p) => p.provider === 'anthropic')).toMatchObject({ status: 'up' });
    });
  });

  it('exports no provider_up series for it, so the provider-down alert cannot fire', async () => {
    await eventually(async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      expect(text).toMatch(/^llm_gateway_provider_up\{provider="anthropic"\} 1$/m);
      expect(text).toMatch(/^llm_gateway_provider_up\{provider="mock"\} 1$/m);
      expect(text).not.toMatch(/llm_gateway_provider_up\{provider="openai"\}/);
      // Passing over it is not a fallback either.
      expect(text).not.toMatch(/llm_gateway_fallbacks_total\{from_provider="openai"/);
    });
  });

  it('never sent it a request: no health probe, no call', async () => {
    // Probes run every second for configured providers; the unconfigured one got none.
    await eventually(() => {
      expect(anthropic.stats().models).toBeGreaterThanOrEqual(2);
      return Promise.resolve();
    });
    expect(openai.stats().requests).toBe(0);
  });
});
