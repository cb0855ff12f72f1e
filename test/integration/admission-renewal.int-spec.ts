import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdmissionTicket, reservationLifetimeMs } from '@gateway/admission';
import { unitsToDecimalString } from '@gateway/billing';
import type { TenantContext } from '@gateway/context';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type RedisServer, startRedisServer } from '../support/redis-server';
import {
  type AdmissionInstance,
  sleep,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
  until,
} from '../support/admission';

jest.setTimeout(120_000);

/*
 * AdmissionService.keepAlive: a request that outlives the reservation lifetime (a long stream)
 * keeps its budget reservation counted until it stops renewing or settles. Short provider timeouts
 * make the lifetime ~5.3 s, so "longer than the lifetime" fits in a test.
 */
const W = 1_000_000; // one worst case, in units
const demand = (worst = W) => ({
  promptTokensUpperBound: 100,
  maxCompletionTokens: 100,
  worstCaseCostUnits: worst,
});
const used = { promptTokens: 10, completionTokens: 10 };

function shortCatalog(dir: string): string {
  const catalog = join(dir, 'catalog.yaml');
  writeFileSync(
    catalog,
    `providers:\n  mock: { type: mock, timeout_ms: 200, max_retries: 0 }\nmodels:\n  mock-model:\n    - { provider: mock, model: mock-1 }\npricing:\n  mock/mock-1: { input: 1.00, output: 2.00, max_output_tokens: 4096 }\n`,
  );
  return catalog;
}

async function admitted(
  inst: AdmissionInstance,
  tenant: TenantContext,
  worst = W,
): Promise<AdmissionTicket> {
  const r = await tryAdmit(inst.admission, tenant, demand(worst));
  if (!r.ok) throw new Error(`expected an admission, got ${r.code}`);
  return r.ticket;
}

describe('admission: keepAlive renews reservations on the shared Redis', () => {
  let db: TestDatabase;
  let fleet: AdmissionInstance[];
  let dir: string;
  let ttl: number;

  beforeAll(async () => {
    db = await createTestDatabase('adm_renew');
    dir = mkdtempSync(join(tmpdir(), 'adm-renew-'));
    const prefix = uniquePrefix('renew');
    const env = { GATEWAY_CONFIG: shortCatalog(dir), CACHE_COALESCE_WAIT_MS: '100' };
    fleet = await Promise.all([0, 1].map(() => startAdmission({ database: db, prefix, env })));
    ttl = reservationLifetimeMs(fleet[0].config);
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a held reservation still counts after its lifetime; after stop it expires as before', async () => {
    expect(ttl).toBe(5_300);
    const tenant = tenantContext({ monthlyBudget: unitsToDecimalString(2 * W) });
    const ticket = await admitted(fleet[0], tenant);
    const stop = fleet[0].admission.keepAlive(tenant, ticket);

    await sleep(ttl + 1_500);
    // Still reserved, on every instance: a second worst case does not fit beside it.
    expect(await fleet[1].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 0, reservedUnits: W }),
    );
    const refused = await tryAdmit(fleet[1].admission, tenant, demand(W + 1));
    expect(refused.ok === false && refused.code).toBe('budget_exceeded');

    stop();
    stop(); // idempotent
    // The last renewal (at most a third of the lifetime ago) still holds for a while…
    await sleep((2 * ttl) / 3 - 1_000);
    expect((await tryAdmit(fleet[1].admission, tenant, demand(W + 1))).ok).toBe(false);
    // …and then the reservation expires like any other.
    await until(
      async () => (await tryAdmit(fleet[1].admission, tenant, demand(W + 1))).ok,
      5_000,
      'the reservation to expire once no longer renewed',
    );
  });

  it('settling after renewals charges exactly once, and ends the renewal', async () => {
    const tenant = tenantContext({ monthlyBudget: unitsToDecimalString(10 * W) });
    const ticket = await admitted(fleet[0], tenant);
    const stop = fleet[0].admission.keepAlive(tenant, ticket);
    await sleep(ttl + 500); // three renewals or more
    await fleet[0].admission.settle(tenant, ticket, { ...used, costUnits: 3 * W });
    await fleet[0].admission.settle(tenant, ticket, { ...used, costUnits: 3 * W });
    await sleep(ttl / 2); // a renewal after the settlement would re-appear here
    stop();

    expect(await fleet[1].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 3 * W, reservedUnits: 0 }),
    );
    const month = new Date().toISOString().slice(0, 7);
    const c = fleet[0].redis.client;
    const k = (...parts: string[]) => fleet[0].redis.keys.tenant(tenant.tenantId, ...parts);
    expect(await c.zscore(k('bud', month, 'res'), String(ticket.reservationId))).toBeNull();
    expect(await c.hget(k('bud', month), `r:${ticket.reservationId}`)).toBeNull();
    // Nothing is left to renew for a settled ticket.
    fleet[0].admission.keepAlive(tenant, ticket)();
    expect((await tryAdmit(fleet[1].admission, tenant, demand(7 * W))).ok).toBe(true);
  });
});

describe('admission: keepAlive renews fallback reservations in Postgres', () => {
  let db: TestDatabase;
  let server: RedisServer;
  let inst: AdmissionInstance;
  let dir: string;
  let ttl: number;

  beforeAll(async () => {
    db = await createTestDatabase('adm_renew_pg');
    dir = mkdtempSync(join(tmpdir(), 'adm-renew-pg-'));
    server = await startRedisServer();
    const env = { GATEWAY_CONFIG: shortCatalog(dir), CACHE_COALESCE_WAIT_MS: '100' };
    inst = await startAdmission({
      database: db,
      prefix: uniquePrefix('renewpg'),
      redisUrl: server.url,
      env,
    });
    ttl = reservationLifetimeMs(inst.config);
  });

  afterAll(async () => {
    await inst?.close();
    await server?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const row = async (id: string | null) => {
    const rows = await db.dataSource.query<Array<{ units: string; live: boolean }>>(
      `SELECT amount_units::text AS units, expires_at > now() AS live
         FROM budget_reservations WHERE id = $1`,
      [id],
    );
    return rows[0];
  };

  it('a fallback reservation is renewed in Postgres and settles once', async () => {
    await server.kill();
    await until(() => !inst.admission.isRedisAvailable(), 2_000, 'fallback');
    const tenant = tenantContext({ monthlyBudget: unitsToDecimalString(2 * W) });
    const ticket = await admitted(inst, tenant);
    expect(ticket.mode).toBe('fallback');
    const stop = inst.admission.keepAlive(tenant, ticket);

    await sleep(ttl + 1_500);
    expect(await row(ticket.reservationId)).toEqual({ units: String(W), live: true });
    const refused = await tryAdmit(inst.admission, tenant, demand(W + 1));
    expect(refused.ok === false && refused.code).toBe('budget_exceeded');

    await inst.admission.settle(tenant, ticket, { ...used, costUnits: W / 2 });
    // The settled row holds the actual cost until its (renewed) expiry, then expires: the
    // settlement ended the renewal.
    expect(await row(ticket.reservationId)).toEqual({ units: String(W / 2), live: true });
    expect((await tryAdmit(inst.admission, tenant, demand(W + W / 2))).ok).toBe(true);
    await sleep(ttl + 1_000);
    expect(await row(ticket.reservationId)).toEqual({ units: String(W / 2), live: false });
    stop();
    // Redis back before the instance closes (a client left reconnecting keeps Jest alive).
    await server.restart();
    await until(() => inst.admission.isRedisAvailable(), 5_000, 'shared mode');
  });
});
