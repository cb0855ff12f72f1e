import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnGateway, type GatewayProcess } from '../support/process';
import { eventually } from '../support/redis-process';

/**
 * The real built process: boot errors, secrets in logs, SIGTERM draining. Canary credentials are
 * unique strings that must never appear in any response, log line or database row.
 */
describe('gateway process (e2e)', () => {
  let db: TestDatabase;
  const canaryAdmin = `canary-admin-${randomBytes(16).toString('hex')}`;
  const canaryOpenAi = `sk-canary-openai-${randomBytes(12).toString('hex')}`;
  const canaryAnthropic = `sk-ant-canary-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase('proc');
  });
  afterAll(async () => {
    await db?.drop();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: db.url,
      REDIS_KEY_PREFIX: `p${randomBytes(4).toString('hex')}:`,
      ADMIN_API_KEY: canaryAdmin,
      OPENAI_API_KEY: canaryOpenAi,
      ANTHROPIC_API_KEY: canaryAnthropic,
      LOG_LEVEL: 'trace',
      ...extra,
    };
  }

  it('refuses to boot on bad configuration with one line per problem and exit code 1', async () => {
    const { spawnSync } = await import('node:child_process');
    const { MAIN_JS } = await import('../support/process');
    const res = spawnSync(process.execPath, [MAIN_JS], {
      env: {
        PATH: process.env.PATH,
        ADMIN_API_KEY: 'short',
        PORT: 'x',
        GATEWAY_CONFIG: '/nope.yaml',
      },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.startsWith('ADMIN_API_KEY:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('PORT:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('GATEWAY_CONFIG:'))).toBe(true);
  });

  describe('with a running instance', () => {
    let gw: GatewayProcess;
    beforeAll(async () => {
      gw = await spawnGateway(env());
    });
    afterAll(async () => {
      await gw?.stop('SIGKILL');
    });

    it('never writes a credential to a response, log line or table', async () => {
      const seen: string[] = [];
      const call = async (path: string, init: RequestInit) => {
        const res = await fetch(`${gw.url}${path}`, init);
        seen.push(JSON.stringify([...res.headers]), await res.text());
        return res;
      };
      const created = await call('/api/v1/admin/tenants', {
        method: 'POST',
        headers: { 'X-API-Key': canaryAdmin, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          name: 'canary',
          rate_limit: 100,
          monthly_budget: 10,
          alert_webhook_secret: 'whsec-canary-secret-value',
        }),
      });
      expect(created.status).toBe(201);
      const tenantKey = (JSON.parse(seen[seen.length - 1]) as { api_key: string }).api_key;
      seen.pop(); // the creation response is the one place a key is shown
      const tenantHeaders = { 'X-API-Key': tenantKey, 'Content-Type': 'application/json' };
      const chat = (model: string) =>
        call('/v1/chat/completions', {
          method: 'POST',
          headers: tenantHeaders,
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
        });
      await chat('mock-model');
      await chat('gpt-4o-mini'); // unreachable upstreams: 502/503/504 with attempts listed
      await call('/v1/chat/completions', {
        method: 'POST',
        headers: tenantHeaders,
        body: '{bad json',
      });
      await call('/api/v1/completions', {
        method: 'POST',
        headers: { Authorization: `Bearer ${tenantKey}x` },
        body: '{}',
      });
      await call(`/api/v1/admin/tenants?limit=5`, { headers: { 'X-API-Key': canaryAdmin } });
      await call(`/api/v1/admin/audit?limit=50`, { headers: { 'X-API-Key': canaryAdmin } });
      await call('/api/v1/admin/models', { headers: { 'X-API-Key': canaryAdmin } });
      await call('/api/v1/admin/providers', { headers: { 'X-API-Key': canaryAdmin } });
      await call('/metrics', {});
      await call('/docs-json', {});

      const { Client } = await import('pg');
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      const tables = await pg.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      const dumps: string[] = [];
      for (const { table_name } of tables.rows) {
        const rows = await pg.query(`SELECT * FROM "${table_name}"`);
        dumps.push(JSON.stringify(rows.rows));
      }
      await pg.end();

      // Log lines reach stdout in batches (at most 200 ms late): once the last request's access
      // line is there, every line before it is too.
      await eventually(async () => {
        expect(gw.output()).toContain('"path":"/docs-json"');
        await Promise.resolve();
      }, 2_000);
      const haystacks = {
        responses: seen.join('\n'),
        logs: gw.output(),
        database: dumps.join('\n'),
      };
      expect(gw.output().length).toBeGreaterThan(0);
      for (const [where, text] of Object.entries(haystacks)) {
        for (const secret of [
          canaryAdmin,
          canaryOpenAi,
          canaryAnthropic,
          tenantKey,
          'whsec-canary-secret-value',
        ]) {
          if (where === 'database' && secret === 'whsec-canary-secret-value') continue; // stored: it signs webhooks
          expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
        }
      }
    });
  });

  it('on SIGTERM turns readiness to 503, finishes in-flight requests, flushes records and exits 0', async () => {
    const gw = await spawnGateway(
      env({
        LOG_LEVEL: 'warn',
        SHUTDOWN_GRACE_MS: '10000',
        SHUTDOWN_DRAIN_DELAY_MS: '600',
        GATEWAY_CONFIG: `${__dirname}/../support/catalog.slow.yaml`,
      }),
    );
    try {
      const created = await fetch(`${gw.url}/api/v1/admin/tenants`, {
        method: 'POST',
        headers: { 'X-API-Key': canaryAdmin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'drain', rate_limit: 100, monthly_budget: 10 }),
      });
      const { api_key, tenant_id } = (await created.json()) as {
        api_key: string;
        tenant_id: string;
      };
      // The slow mock takes 1.5 s: the request is in flight when SIGTERM arrives.
      const inflight = fetch(`${gw.url}/api/v1/completions`, {
        method: 'POST',
        headers: {
          'X-API-Key': api_key,
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
        },
        body: JSON.stringify({
          model: 'slow-mock',
          messages: [{ role: 'user', content: 'drain me' }],
        }),
      });
      await new Promise((r) => setTimeout(r, 300));
      const exit = gw.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      const ready = await fetch(`${gw.url}/health/ready`);
      expect(ready.status).toBe(503);
      const res = await inflight;
      expect(res.status).toBe(200);
      expect(await exit).toBe(0);

      const { Client } = await import('pg');
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      const rows = await pg.query('SELECT outcome FROM request_records WHERE tenant_id = $1', [
        tenant_id,
      ]);
      await pg.end();
      expect(rows.rows).toEqual([{ outcome: 'success' }]);
    } finally {
      await gw.stop('SIGKILL');
    }
  });
});
