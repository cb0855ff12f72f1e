import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AdmissionTicket,
  AdmissionSpendReader,
  reservationLifetimeMs,
} from '@gateway/admission';
import { usdToUnits, unitsToDecimalString } from '@gateway/billing';
import { TenantEntity } from '@gateway/tenancy';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import {
  type AdmissionInstance,
  insertRecord,
  sleep,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
  until,
} from '../support/admission';

jest.setTimeout(120_000);

const WORST = 1_234_567; // units of 1e-10 USD
const demand = (worst = WORST) => ({
  promptTokensUpperBound: 100,
  maxCompletionTokens: 100,
  worstCaseCostUnits: worst,
});
const budgetFor = (units: number) => unitsToDecimalString(units);

describe('admission: budgets on the shared Redis', () => {
  let db: TestDatabase;
  let fleet: AdmissionInstance[];
  let dir: string;
  let prefix: string;

  beforeAll(async () => {
    db = await createTestDatabase('adm_budget');
    dir = mkdtempSync(join(tmpdir(), 'adm-budget-'));
    // Short provider timeouts: a reservation's lifetime is then ~5.3 s (expiry test).
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(
      catalog,
      `providers:\n  mock: { type: mock, timeout_ms: 200, max_retries: 0 }\nmodels:\n  mock-model:\n    - { provider: mock, model: mock-1 }\npricing:\n  mock/mock-1: { input: 1.00, output: 2.00, max_output_tokens: 4096 }\n`,
    );
    prefix = uniquePrefix('budget');
    const env = { GATEWAY_CONFIG: catalog, CACHE_COALESCE_WAIT_MS: '100' };
    fleet = await Promise.all([0, 1, 2].map(() => startAdmission({ database: db, prefix, env })));
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('budget race: 200 concurrent over 3 instances against 100 worst cases → exactly 100 admitted, spend ≤ budget to the unit', async () => {
    const budget = 100 * WORST;
    const tenant = tenantContext({ rateLimit: 10_000, monthlyBudget: budgetFor(budget) });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand())),
    );
    const admitted = results.flatMap((r, i) =>
      r.ok ? [{ ticket: r.ticket, at: fleet[i % 3] }] : [],
    );
    expect(admitted).toHaveLength(100);
    for (const r of results) if (!r.ok) expect(r.code).toBe('budget_exceeded');
    const during = await fleet[0].admission.monthSpend(tenant.tenantId);
    expect(during?.reservedUnits).toBe(budget);
    // Every admitted request costs its full worst case: spend lands exactly on the budget.
    await Promise.all(
      admitted.map(({ ticket, at }) =>
        at.admission.settle(tenant, ticket, {
          promptTokens: 100,
          completionTokens: 100,
          costUnits: WORST,
        }),
      ),
    );
    const after = await fleet[1].admission.monthSpend(tenant.tenantId);
    expect(after).toEqual(expect.objectContaining({ spendUnits: budget, reservedUnits: 0 }));
    expect((await tryAdmit(fleet[2].admission, tenant, demand(1))).ok).toBe(false);
    expect((await tryAdmit(fleet[2].admission, tenant, demand(0))).ok).toBe(true);
  });

  it('settling below the worst case frees the difference; a release frees it all', async () => {
    const tenant = tenantContext({ monthlyBudget: budgetFor(2 * WORST) });
    const a = await tryAdmit(fleet[0].admission, tenant, demand());
    const b = await tryAdmit(fleet[1].admission, tenant, demand());
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect((await tryAdmit(fleet[2].admission, tenant, demand(1))).ok).toBe(false);
    await fleet[0].admission.settle(tenant, a.ticket, {
      promptTokens: 1,
      completionTokens: 1,
      costUnits: 1000,
    });
    await fleet[1].admission.settle(tenant, b.ticket, null);
    // Settling twice is a no-op.
    await fleet[0].admission.settle(tenant, a.ticket, {
      promptTokens: 1,
      completionTokens: 1,
      costUnits: 1000,
    });
    expect(await fleet[0].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 1000, reservedUnits: 0 }),
    );
    expect((await tryAdmit(fleet[2].admission, tenant, demand(2 * WORST - 1000))).ok).toBe(true);
  });

  it('releases the reservations of a killed instance when they expire', async () => {
    const ttl = reservationLifetimeMs(fleet[0].config);
    expect(ttl).toBe(5_300);
    const victim = await startAdmission({
      database: db,
      prefix,
      env: { GATEWAY_CONFIG: fleet[0].config.catalogPath, CACHE_COALESCE_WAIT_MS: '100' },
    });
    const tenant = tenantContext({ monthlyBudget: budgetFor(3 * WORST) });
    for (let i = 0; i < 3; i++)
      expect((await tryAdmit(victim.admission, tenant, demand())).ok).toBe(true);
    // On a loaded machine the three admissions can be far apart: each expires on its own clock.
    const lastAdmittedAt = Date.now();
    await victim.close(); // never settles
    const started = Date.now();
    expect((await tryAdmit(fleet[0].admission, tenant, demand())).ok).toBe(false);
    await sleep(ttl - 1_000);
    expect((await tryAdmit(fleet[1].admission, tenant, demand())).ok).toBe(false);
    await until(
      async () => (await tryAdmit(fleet[2].admission, tenant, demand())).ok,
      5_000,
      'the orphaned reservations to expire',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(ttl - 1_000);
    // Once the last orphan's lifetime is over, all three are gone: the rest of the budget admits.
    await sleep(Math.max(0, lastAdmittedAt + ttl + 200 - Date.now()));
    expect((await tryAdmit(fleet[0].admission, tenant, demand(2 * WORST))).ok).toBe(true);
    expect(await fleet[0].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 0, reservedUnits: 3 * WORST }),
    );
  });

  it('starts a month from the spend already recorded in Postgres (this month only)', async () => {
    const tenant = tenantContext({ monthlyBudget: budgetFor(10 * WORST) });
    const now = new Date();
    await insertRecord(db, tenant.tenantId, 7 * WORST, now);
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - 1);
    await insertRecord(db, tenant.tenantId, 50 * WORST, lastMonth);
    expect((await tryAdmit(fleet[0].admission, tenant, demand(3 * WORST + 1))).ok).toBe(false);
    const ok = await tryAdmit(fleet[1].admission, tenant, demand(3 * WORST));
    expect(ok.ok).toBe(true);
    expect(await fleet[2].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 7 * WORST, reservedUnits: 3 * WORST }),
    );
  });

  it('tracks spend of unlimited tenants without refusing them', async () => {
    const tenant = tenantContext({ monthlyBudget: null });
    const tickets: Array<[AdmissionTicket, AdmissionInstance]> = [];
    for (let i = 0; i < 5; i++) {
      const r = await tryAdmit(fleet[i % 3].admission, tenant, demand(10 ** 12));
      expect(r.ok).toBe(true);
      if (r.ok) tickets.push([r.ticket, fleet[i % 3]]);
    }
    for (const [t, at] of tickets) {
      await at.admission.settle(tenant, t, { promptTokens: 1, completionTokens: 1, costUnits: 7 });
    }
    expect(await fleet[0].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 35, reservedUnits: 0 }),
    );
  });

  it('shows spend, reserved and remaining through TenantSpendReader for the admin read', async () => {
    const repo = db.dataSource.getRepository(TenantEntity);
    const tenant = tenantContext({ monthlyBudget: '1.5' });
    await repo.insert({
      id: tenant.tenantId,
      name: 'spend-reader',
      rateLimit: 100,
      tokensPerMinute: null,
      monthlyBudgetUnits: usdToUnits('1.5'),
      providerPreferences: [],
      allowedModels: null,
      cacheTtlSeconds: null,
      alertThresholds: [0.5, 0.8, 1],
      alertWebhookUrl: null,
      alertWebhookSecret: null,
      disabledAt: null,
    });
    const reader = fleet[0].app.get(AdmissionSpendReader);
    expect(await reader.spend(tenant.tenantId)).toEqual({
      spend_usd: 0,
      reserved_usd: 0,
      remaining_usd: 1.5,
    });
    const t = await tryAdmit(fleet[1].admission, tenant, demand(usdToUnits('0.25')));
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(await reader.spend(tenant.tenantId)).toEqual({
      spend_usd: 0,
      reserved_usd: 0.25,
      remaining_usd: 1.25,
    });
    await fleet[1].admission.settle(tenant, t.ticket, {
      promptTokens: 1,
      completionTokens: 1,
      costUnits: usdToUnits('0.0000012345'),
    });
    expect(await reader.spend(tenant.tenantId)).toEqual({
      spend_usd: 0.0000012345,
      reserved_usd: 0,
      remaining_usd: 1.4999987655,
    });
  });
});

describe('admission: Redis restarted empty', () => {
  let db: TestDatabase;
  let server: RedisServer;
  let fleet: AdmissionInstance[];

  beforeAll(async () => {
    db = await createTestDatabase('adm_rebuild');
    server = await startRedisServer();
    const prefix = uniquePrefix('rebuild');
    fleet = await Promise.all(
      [0, 1].map(() => startAdmission({ database: db, prefix, redisUrl: server.url })),
    );
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await server?.stop();
    await db?.drop();
  });

  it('rebuilds spend from Postgres, so a restart never resets anyone’s spend', async () => {
    const tenant = tenantContext({ monthlyBudget: budgetFor(10 * WORST) });
    await insertRecord(db, tenant.tenantId, 4 * WORST); // recorded before Redis ever saw the tenant
    const t = await tryAdmit(fleet[0].admission, tenant, demand(3 * WORST));
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    // The request finishes: settled in Redis, recorded by the audit lib.
    await Promise.all([
      fleet[0].admission.settle(tenant, t.ticket, {
        promptTokens: 1,
        completionTokens: 1,
        costUnits: 3 * WORST,
      }),
      insertRecord(db, tenant.tenantId, 3 * WORST),
    ]);
    expect((await fleet[0].admission.monthSpend(tenant.tenantId))?.spendUnits).toBe(7 * WORST);

    await server.restart();
    await until(
      () => fleet.every((i) => i.redis.client.status === 'ready' && i.admission.isRedisAvailable()),
      5_000,
      'shared mode again',
    );
    expect(await fleet[0].redis.client.dbsize()).toBe(0);

    expect((await tryAdmit(fleet[1].admission, tenant, demand(3 * WORST + 1))).ok).toBe(false);
    expect((await tryAdmit(fleet[0].admission, tenant, demand(3 * WORST))).ok).toBe(true);
    expect(await fleet[1].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 7 * WORST, reservedUnits: 3 * WORST }),
    );
    // …and it was Redis that answered, from a month hash rebuilt from Postgres.
    const month = new Date().toISOString().slice(0, 7);
    const hash = await fleet[0].redis.client.hgetall(
      fleet[0].redis.keys.tenant(tenant.tenantId, 'bud', month),
    );
    expect(hash.spend).toBe(String(7 * WORST));
    expect(hash.reserved).toBe(String(3 * WORST));
  });
});
