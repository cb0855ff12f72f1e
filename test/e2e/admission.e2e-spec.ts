import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { unitsToDecimalString, usdToUnits } from '@gateway/billing';
import { type CreatedTenant, startGateway, type TestGateway } from '../support/app';
import { type GatewayProcess, spawnGateway } from '../support/process';
import { type RedisServer, startRedisServer } from '../support/redis-server';

jest.setTimeout(180_000);

/** One model whose answers take 4 s: concurrent requests are all in flight together. */
const CATALOG_DIR = mkdtempSync(join(tmpdir(), 'adm-e2e-'));
const SLOW_CATALOG = join(CATALOG_DIR, 'catalog.yaml');
writeFileSync(
  SLOW_CATALOG,
  'providers:\n  mock: { type: mock, latency_ms: 4000 }\nmodels:\n  slow-mock:\n    - { provider: mock, model: slow-1 }\n' +
    'pricing:\n  mock/slow-1: { input: 1.00, output: 2.00, max_output_tokens: 1024 }\n',
);
afterAll(() => rmSync(CATALOG_DIR, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string }; cost?: number };
  ms: number;
}

async function complete(
  url: string,
  key: string,
  model: string,
  content: string,
  maxTokens = 50,
): Promise<Reply> {
  const start = performance.now();
  const res = await fetch(`${url}/api/v1/completions`, {
    method: 'POST',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens }),
  });
  const body = (await res.json()) as Reply['body'];
  return { status: res.status, headers: res.headers, body, ms: performance.now() - start };
}

/** Three gateway processes sharing one Postgres database and one (throwaway) Redis. */
async function startFleet(env: Record<string, string>): Promise<{
  procs: GatewayProcess[];
  redis: RedisServer;
  dbHolder: TestGateway;
  adminKey: string;
  createTenant(body: Record<string, unknown>): Promise<CreatedTenant>;
  stop(): Promise<void>;
}> {
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;
  // In-process instance only to create (and later drop) a migrated database.
  const dbHolder = await startGateway({ env: { ADMIN_API_KEY: adminKey } });
  const redis = await startRedisServer();
  const shared = {
    DATABASE_URL: dbHolder.database.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `tadm${randomBytes(4).toString('hex')}:`,
    ADMIN_API_KEY: adminKey,
    LOG_LEVEL: 'warn',
    ...env,
  };
  const procs = await Promise.all([0, 1, 2].map(() => spawnGateway(shared)));
  return {
    procs,
    redis,
    dbHolder,
    adminKey,
    async createTenant(body) {
      const res = await fetch(`${procs[0].url}/api/v1/admin/tenants`, {
        method: 'POST',
        headers: { 'X-API-Key': adminKey, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: `adm-${randomBytes(3).toString('hex')}`, ...body }),
      });
      if (res.status !== 201) throw new Error(`create tenant: ${res.status} ${await res.text()}`);
      return (await res.json()) as CreatedTenant;
    },
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      await redis.stop();
      await dbHolder.close();
    },
  };
}

async function adminTenant(
  url: string,
  adminKey: string,
  id: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/v1/admin/tenants/${id}`, {
    headers: { 'X-API-Key': adminKey },
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('admission across three gateway processes (e2e)', () => {
  let fleet: Awaited<ReturnType<typeof startFleet>>;

  beforeAll(async () => {
    fleet = await startFleet({ GATEWAY_CONFIG: SLOW_CATALOG });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('limit 10, 60 concurrent requests spread over 3 processes → exactly 10 admitted', async () => {
    const t = await fleet.createTenant({ rate_limit: 10, monthly_budget: 100 });
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        complete(fleet.procs[i % 3].url, t.api_key, 'slow-mock', `question ${i}`),
      ),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(10);
    const refused = replies.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(50);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body.error?.code).toBe('rate_limit_exceeded');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    for (const r of replies.filter((x) => x.status === 200)) {
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(10);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('10');
    }
  });

  it('budget race: 200 concurrent over 3 processes against 100 worst cases → 100 admitted, spend ≤ budget', async () => {
    // slow-mock: $1 / $2 per 1M tokens. Prompt bound = 64 + 16 + 4 + 20 bytes = 104 tokens,
    // max_tokens 50 → worst = 104 × 10 000 + 50 × 20 000 = 2 040 000 units.
    const worst = 2_040_000;
    const budgetUnits = 100 * worst;
    const t = await fleet.createTenant({
      rate_limit: 10_000,
      monthly_budget: Number(unitsToDecimalString(budgetUnits)),
    });
    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        complete(
          fleet.procs[i % 3].url,
          t.api_key,
          'slow-mock',
          `budget race ${String(i).padStart(8, '0')}`,
        ),
      ),
    );
    // Every refusal was decided while all admitted requests were still running (4 s answers).
    expect(Date.now() - started).toBeLessThan(8_000);
    const refusedBy = Math.max(...replies.filter((r) => r.status !== 200).map((r) => r.ms));
    expect(refusedBy).toBeLessThan(4_000);
    const ok = replies.filter((r) => r.status === 200);
    expect(ok).toHaveLength(100);
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(402);
      expect(r.body.error?.code).toBe('budget_exceeded');
      expect(r.headers.get('x-should-retry')).toBe('false');
    }
    const spentUnits = ok.reduce((sum, r) => sum + usdToUnits(String(r.body.cost)), 0);
    expect(spentUnits).toBeLessThanOrEqual(budgetUnits);
    const view = await adminTenant(fleet.procs[2].url, fleet.adminKey, t.tenant_id);
    expect(usdToUnits(String(view.spend_usd))).toBe(spentUnits);
    expect(view.reserved_usd).toBe(0);
    expect(usdToUnits(String(view.remaining_usd))).toBe(budgetUnits - spentUnits);
  });

  it('Redis restarted empty: spend is rebuilt from the audit records', async () => {
    const t = await fleet.createTenant({ rate_limit: 1_000, monthly_budget: 1 });
    const r = await complete(fleet.procs[0].url, t.api_key, 'slow-mock', 'before the restart');
    expect(r.status).toBe(200);
    const before = await adminTenant(fleet.procs[1].url, fleet.adminKey, t.tenant_id);
    expect(before.spend_usd).toBe(r.body.cost);
    await fleet.redis.restart();
    // Let every process notice and come back (≤ 5 s).
    const deadline = Date.now() + 8_000;
    let view: Record<string, unknown> = {};
    for (;;) {
      const health = await Promise.all(
        fleet.procs.map(
          async (p) =>
            ((await (await fetch(`${p.url}/health`)).json()) as { status: string }).status,
        ),
      );
      if (health.every((s) => s === 'healthy')) break;
      if (Date.now() > deadline) throw new Error(`not healthy again: ${health.join(',')}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const again = await complete(fleet.procs[2].url, t.api_key, 'slow-mock', 'after the restart');
    expect(again.status).toBe(200);
    view = await adminTenant(fleet.procs[0].url, fleet.adminKey, t.tenant_id);
    expect(usdToUnits(String(view.spend_usd))).toBe(
      usdToUnits(String(r.body.cost)) + usdToUnits(String(again.body.cost)),
    );
  });
});

describe('admission with Redis killed and frozen under load, three processes (e2e)', () => {
  let fleet: Awaited<ReturnType<typeof startFleet>>;

  beforeAll(async () => {
    fleet = await startFleet({});
  });
  afterAll(async () => {
    fleet?.redis.thaw();
    await fleet?.stop();
  });

  async function load(
    tenant: CreatedTenant,
    ms: number,
    during: () => Promise<void>,
  ): Promise<Reply[]> {
    const replies: Reply[] = [];
    let stop = false;
    const workers = Array.from({ length: 9 }, async (_, w) => {
      let n = 0;
      while (!stop) {
        replies.push(
          await complete(
            fleet.procs[w % 3].url,
            tenant.api_key,
            'mock-model',
            `w${w} n${n++} ${randomBytes(3).toString('hex')}`,
          ),
        );
      }
    });
    await during();
    await new Promise((r) => setTimeout(r, ms));
    stop = true;
    await Promise.all(workers);
    return replies;
  }

  async function healthy(): Promise<number> {
    const start = Date.now();
    for (;;) {
      const states = await Promise.all(
        fleet.procs.map(
          async (p) =>
            ((await (await fetch(`${p.url}/health`)).json()) as { status: string }).status,
        ),
      );
      if (states.every((s) => s === 'healthy')) return Date.now() - start;
      if (Date.now() - start > 10_000) throw new Error(`still ${states.join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('killed: zero 5xx, /health degraded, fallback limits per process, healthy again within 5 s', async () => {
    const t = await fleet.createTenant({ rate_limit: 40, monthly_budget: 100 });
    const replies = await load(t, 300, async () => {
      await new Promise((r) => setTimeout(r, 500));
      await fleet.redis.kill();
      await new Promise((r) => setTimeout(r, 300));
      const h = (await (await fetch(`${fleet.procs[0].url}/health`)).json()) as { status: string };
      expect(h.status).toBe('degraded');
      await new Promise((r) => setTimeout(r, 1_500));
      await fleet.redis.restart();
      expect(await healthy()).toBeLessThan(5_000);
    });
    expect(replies.filter((r) => r.status >= 500)).toEqual([]);
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([200, 429]));
    // 40 in Redis before the kill, at most 40 per process from its own window while Redis is away,
    // and 40 again in the restarted (empty) Redis: the limit holds in each store, never beyond.
    expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(40 + 3 * 40 + 40);
  });

  it('frozen (SIGSTOP): zero 5xx, no request waits long on Redis, healthy again within 5 s of SIGCONT', async () => {
    const t = await fleet.createTenant({ rate_limit: 100_000, monthly_budget: 100 });
    let thawedAt = 0;
    const replies = await load(t, 300, async () => {
      await new Promise((r) => setTimeout(r, 300));
      fleet.redis.freeze();
      await new Promise((r) => setTimeout(r, 2_000));
      fleet.redis.thaw();
      thawedAt = Date.now();
      expect(await healthy()).toBeLessThan(5_000);
    });
    expect(thawedAt).toBeGreaterThan(0);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    // Each lib facing Redis gives up after the 100 ms command timeout: no request waits 500 ms.
    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThan(500);
  });
});
