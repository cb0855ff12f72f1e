import { unitsToDecimalString } from '@gateway/billing';
import { createTestDatabase, type TestDatabase } from '../support/database';
// A TCP proxy in front of Postgres that can stop forwarding (Postgres "frozen" for its clients).
import { startPgProxy } from '../support/pg-proxy';
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

const W = 1_000_000; // one worst case, in units
const demand = (worst = W) => ({
  promptTokensUpperBound: 100,
  maxCompletionTokens: 100,
  worstCaseCostUnits: worst,
});
const used = { promptTokens: 10, completionTokens: 10 };

describe('admission: Redis outage', () => {
  let db: TestDatabase;
  let server: RedisServer;
  let fleet: AdmissionInstance[];
  let prefix: string;

  beforeAll(async () => {
    db = await createTestDatabase('adm_outage');
    server = await startRedisServer();
    prefix = uniquePrefix('outage');
    fleet = await Promise.all(
      [0, 1, 2].map(() => startAdmission({ database: db, prefix, redisUrl: server.url })),
    );
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await server?.stop();
    await db?.drop();
  });

  /** Brings Redis back (empty) and waits for every instance to resume shared enforcement. */
  async function restartAndResume(instances = fleet): Promise<number> {
    await server.restart();
    const back = Date.now();
    await until(() => instances.every((i) => i.admission.isRedisAvailable()), 5_000, 'shared mode');
    return Date.now() - back;
  }

  const reqKey = (tenantId: string) => fleet[0].redis.keys.tenant(tenantId, 'rl', 'req');
  const monthKey = (tenantId: string) =>
    fleet[0].redis.keys.tenant(tenantId, 'bud', new Date().toISOString().slice(0, 7));

  it('Redis killed under load: no call waits 500 ms, no 5xx, per-instance limits, shared again within 5 s', async () => {
    const tenant = tenantContext({
      rateLimit: 30,
      monthlyBudget: unitsToDecimalString(10_000 * W),
    });
    const calls: Array<{
      instance: number;
      ms: number;
      ok: boolean;
      code?: string;
      mode?: string;
      at: number;
    }> = [];
    let stop = false;
    const workers = Array.from({ length: 12 }, async (_, w) => {
      const inst = fleet[w % 3];
      while (!stop) {
        const r = await tryAdmit(inst.admission, tenant, demand());
        calls.push({
          instance: w % 3,
          ms: r.ms,
          ok: r.ok,
          code: r.ok ? undefined : r.code,
          mode: r.ok ? r.ticket.mode : undefined,
          at: Date.now(),
        });
        if (r.ok) await inst.admission.settle(tenant, r.ticket, { ...used, costUnits: W / 2 });
        await sleep(10);
      }
    });
    await sleep(800);
    await server.kill();
    await until(() => fleet.every((i) => !i.admission.isRedisAvailable()), 2_000, 'fallback');
    await sleep(1_500);
    const resumedIn = await restartAndResume();
    await sleep(500);
    stop = true;
    await Promise.all(workers);

    expect(resumedIn).toBeLessThan(5_000);
    expect(Math.max(...calls.map((c) => c.ms))).toBeLessThan(500);
    const codes = new Set(calls.filter((c) => !c.ok).map((c) => c.code));
    expect([...codes].filter((c) => c !== 'rate_limit_exceeded')).toEqual([]);
    for (let i = 0; i < 3; i++) {
      const inFallback = calls.filter((c) => c.instance === i && c.mode === 'fallback').length;
      expect(inFallback).toBeGreaterThan(0);
      expect(inFallback).toBeLessThanOrEqual(30);
    }
  });

  it('Redis frozen (SIGSTOP): calls fall back fast, late scripts take nothing, settlements reach Redis exactly once', async () => {
    const tenant = tenantContext({
      rateLimit: 1_000,
      monthlyBudget: unitsToDecimalString(100 * W),
    });
    const first = await tryAdmit(fleet[0].admission, tenant, demand());
    expect(first.ok && first.ticket.mode).toBe('redis');
    if (!first.ok) return;
    await fleet[0].admission.settle(tenant, first.ticket, { ...used, costUnits: W });

    server.freeze();
    try {
      // The first calls wait for the command timeout (100 ms), then the circuit opens.
      const burst = await Promise.all(
        Array.from({ length: 30 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand())),
      );
      for (const r of burst) {
        expect(r.ms).toBeLessThan(500);
        expect(r.ok && r.ticket.mode).toBe('fallback');
      }
      await Promise.all(
        burst.map((r, i) =>
          r.ok
            ? fleet[i % 3].admission.settle(tenant, r.ticket, { ...used, costUnits: W })
            : Promise.resolve(),
        ),
      );
      // Still running when Redis comes back: its Postgres reservation must reach Redis.
      const inFlight = await tryAdmit(fleet[1].admission, tenant, demand(5 * W));
      expect(inFlight.ok).toBe(true);
      if (!inFlight.ok) return;
      expect(fleet.every((i) => !i.admission.isRedisAvailable())).toBe(true);

      server.thaw();
      const back = Date.now();
      await until(() => fleet.every((i) => i.admission.isRedisAvailable()), 5_000, 'shared mode');
      expect(Date.now() - back).toBeLessThan(5_000);

      const c = fleet[0].redis.client;
      // The admissions Redis received late (queued while frozen) did nothing.
      expect(await c.zcard(reqKey(tenant.tenantId))).toBe(1);
      const hash = await c.hgetall(monthKey(tenant.tenantId));
      expect(Number(hash.spend)).toBe(31 * W);
      expect(Number(hash.reserved)).toBe(5 * W);

      await fleet[1].admission.settle(tenant, inFlight.ticket, { ...used, costUnits: 2 * W });
      const after = await c.hgetall(monthKey(tenant.tenantId));
      expect(Number(after.spend)).toBe(33 * W);
      expect(Number(after.reserved)).toBe(0);
    } finally {
      server.thaw();
    }
  });

  it('copies in-flight Redis reservations to Postgres when Redis dies, so fallback budgets still count them', async () => {
    const tenant = tenantContext({ monthlyBudget: unitsToDecimalString(2 * W) });
    const running = await tryAdmit(fleet[0].admission, tenant, demand());
    expect(running.ok && running.ticket.mode).toBe('redis');
    if (!running.ok) return;
    await server.kill();
    await until(
      async () =>
        Number(
          (
            await db.dataSource.query(
              'SELECT count(*)::int AS n FROM budget_reservations WHERE id = $1',
              [running.ticket.reservationId],
            )
          )[0].n,
        ) === 1,
      2_000,
      'the reservation to be copied to Postgres',
    );
    const second = await tryAdmit(fleet[1].admission, tenant, demand());
    expect(second.ok && second.ticket.mode).toBe('fallback');
    const third = await tryAdmit(fleet[2].admission, tenant, demand());
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.code).toBe('budget_exceeded');
    await fleet[0].admission.settle(tenant, running.ticket, { ...used, costUnits: W / 4 });
    if (second.ok) await fleet[1].admission.settle(tenant, second.ticket, null);
    // Settled: the row now holds the actual cost for its grace period.
    const [row] = await db.dataSource.query(
      'SELECT amount_units::text AS a FROM budget_reservations WHERE id = $1',
      [running.ticket.reservationId],
    );
    expect(Number(row.a)).toBe(W / 4);
    expect((await tryAdmit(fleet[2].admission, tenant, demand())).ok).toBe(true);
    await restartAndResume();
  });

  it('Postgres-authoritative budgets while Redis is down: exact across 3 instances', async () => {
    const tenant = tenantContext({
      rateLimit: 10_000,
      monthlyBudget: unitsToDecimalString(30 * W),
    });
    await insertRecord(db, tenant.tenantId, 5 * W);
    await server.kill();
    await until(() => fleet.every((i) => !i.admission.isRedisAvailable()), 2_000, 'fallback');
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand())),
    );
    const admitted = results.filter((r) => r.ok);
    expect(admitted).toHaveLength(25);
    for (const r of results) {
      expect(r.ms).toBeLessThan(500);
      if (!r.ok) expect(r.code).toBe('budget_exceeded');
    }
    await restartAndResume();
  });

  it('fallback reservations of a burst are decided together, first fit: a refused one takes nothing', async () => {
    const tenant = tenantContext({
      rateLimit: 10_000,
      monthlyBudget: unitsToDecimalString(10 * W),
    });
    await server.kill();
    await until(() => !fleet[0].admission.isRedisAvailable(), 2_000, 'fallback');
    // The first goes alone; the next three queue behind it and are decided in one statement.
    const results = await Promise.all(
      [6, 6, 3, 2].map((n) => tryAdmit(fleet[0].admission, tenant, demand(n * W))),
    );
    expect(results.map((r) => (r.ok ? r.ticket.reservedUnits / W : r.code))).toEqual([
      6,
      'budget_exceeded',
      3,
      'budget_exceeded',
    ]);
    await restartAndResume();
  });

  it('fail-closed answers 503 with Retry-After when neither store can answer; fail-open admits', async () => {
    const proxy = await startPgProxy();
    const viaProxy = proxy.url(db.name);
    const closed = await startAdmission({
      database: db,
      prefix,
      redisUrl: server.url,
      databaseUrl: viaProxy,
    });
    const open = await startAdmission({
      database: db,
      prefix,
      redisUrl: server.url,
      databaseUrl: viaProxy,
      env: { BUDGET_FAILURE_POLICY: 'fail-open' },
    });
    try {
      const budgeted = tenantContext({ monthlyBudget: '100' });
      await server.kill();
      proxy.freeze();
      const refused = await tryAdmit(closed.admission, budgeted, demand());
      expect(refused.ok).toBe(false);
      if (refused.ok) return;
      expect(refused.code).toBe('dependency_unavailable');
      expect(refused.headers['Retry-After']).toBe('2');
      expect(refused.ms).toBeLessThan(500);
      const admitted = await tryAdmit(open.admission, budgeted, demand());
      expect(admitted.ok).toBe(true);
      expect(admitted.ms).toBeLessThan(500);
      // No budget involved: cache hits and unlimited tenants flow under either policy.
      expect((await tryAdmit(closed.admission, budgeted, null)).ok).toBe(true);
      expect((await tryAdmit(closed.admission, tenantContext(), demand())).ok).toBe(true);
      if (admitted.ok) await open.admission.settle(budgeted, admitted.ticket, null);
    } finally {
      proxy.thaw();
      await restartAndResume([...fleet, closed, open]);
      await closed.close();
      await open.close();
      await proxy.close();
    }
  });
});
