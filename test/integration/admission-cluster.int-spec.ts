import { unitsToDecimalString } from '@gateway/billing';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { type RedisCluster, startRedisCluster } from '../support/redis-server';
import {
  type AdmissionInstance,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
} from '../support/admission';

jest.setTimeout(120_000);

const W = 987_654;
const demand = () => ({
  promptTokensUpperBound: 10,
  maxCompletionTokens: 10,
  worstCaseCostUnits: W,
});

describe('admission on a 3-master Redis Cluster', () => {
  let db: TestDatabase;
  let cluster: RedisCluster;
  let fleet: AdmissionInstance[];

  beforeAll(async () => {
    db = await createTestDatabase('adm_cluster');
    cluster = await startRedisCluster(3);
    const prefix = uniquePrefix('cluster');
    fleet = await Promise.all(
      [0, 1, 2].map(() => startAdmission({ database: db, prefix, clusterNodes: cluster.nodes })),
    );
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await cluster?.stop();
    await db?.drop();
  });

  it('admits exactly the limit across 3 instances, for tenants spread over every master', async () => {
    // Enough tenants that their hash tags land on all three masters.
    const tenants = Array.from({ length: 12 }, () =>
      tenantContext({ rateLimit: 10, tokensPerMinute: 100_000 }),
    );
    const slots = new Set(
      await Promise.all(
        tenants.map(async (t) => {
          const key = fleet[0].redis.keys.tenant(t.tenantId, 'rl', 'req');
          return Math.floor(
            Number(await fleet[0].redis.client.call('CLUSTER', 'KEYSLOT', key)) / 5462,
          );
        }),
      ),
    );
    expect(slots.size).toBeGreaterThan(1);
    for (const tenant of tenants) {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          tryAdmit(fleet[i % 3].admission, tenant, i % 2 ? demand() : null),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      for (const r of results) {
        if (!r.ok) expect(r.code).toBe('rate_limit_exceeded');
        else expect(r.ticket.mode).toBe('redis');
      }
    }
  });

  it('budget race: 200 concurrent against 100 worst cases → 100 admitted, spend = budget', async () => {
    const tenant = tenantContext({
      rateLimit: 10_000,
      monthlyBudget: unitsToDecimalString(100 * W),
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand())),
    );
    const admitted = results.flatMap((r, i) =>
      r.ok ? [{ ticket: r.ticket, at: fleet[i % 3] }] : [],
    );
    expect(admitted).toHaveLength(100);
    await Promise.all(
      admitted.map(({ ticket, at }) =>
        at.admission.settle(tenant, ticket, {
          promptTokens: 10,
          completionTokens: 10,
          costUnits: W,
        }),
      ),
    );
    expect(await fleet[2].admission.monthSpend(tenant.tenantId)).toEqual(
      expect.objectContaining({ spendUnits: 100 * W, reservedUnits: 0 }),
    );
    expect(fleet.every((i) => i.admission.isRedisAvailable())).toBe(true);
  });
});
