import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  type AdmissionInstance,
  sleep,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
} from '../support/admission';

jest.setTimeout(60_000);

const demand = (worst = 100, prompt = 50, completion = 50) => ({
  promptTokensUpperBound: prompt,
  maxCompletionTokens: completion,
  worstCaseCostUnits: worst,
});

describe('admission: request and token limits on the shared Redis', () => {
  let db: TestDatabase;
  let fleet: AdmissionInstance[];

  beforeAll(async () => {
    db = await createTestDatabase('adm_limits');
    const prefix = uniquePrefix('limits');
    fleet = await Promise.all([0, 1, 2].map(() => startAdmission({ database: db, prefix })));
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await db?.drop();
  });

  const redis = () => fleet[0].redis;
  const reqKey = (tenantId: string) => redis().keys.tenant(tenantId, 'rl', 'req');
  const redisNowUs = async () => {
    const [s, us] = await redis().client.time();
    return Number(s) * 1_000_000 + Number(us);
  };

  it('admits exactly the limit across 3 instances (limit 10, 60 concurrent) and refused requests take no slot', async () => {
    const tenant = tenantContext({ rateLimit: 10 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        tryAdmit(fleet[i % 3].admission, tenant, i % 2 === 0 ? demand() : null),
      ),
    );
    const admitted = results.filter((r) => r.ok);
    expect(admitted).toHaveLength(10);
    for (const r of results) if (!r.ok) expect(r.code).toBe('rate_limit_exceeded');
    expect(await redis().client.zcard(reqKey(tenant.tenantId))).toBe(10);
    // Remaining counts the request itself: the 10 admitted saw 9, 8, …, 0 (in some order).
    const remaining = admitted
      .map((r) => (r.ok ? r.ticket.rateLimitRemaining : -1))
      .sort((a, b) => a - b);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of results.filter((x) => !x.ok)) {
      if (r.ok) continue;
      expect(r.headers['X-RateLimit-Remaining']).toBe('0');
      expect(Number(r.headers['Retry-After'])).toBeGreaterThanOrEqual(59);
    }
  });

  it('never lets a 60 s window hold more than the limit while old slots leave one by one', async () => {
    const tenant = tenantContext({ rateLimit: 10 });
    const now = await redisNowUs();
    // Ten slots admitted "earlier": they leave the window one every 250 ms over the next 2.5 s.
    const seeded = Array.from({ length: 10 }, (_, i) => now - 60_000_000 + (i + 1) * 250_000);
    await redis().client.zadd(
      reqKey(tenant.tenantId),
      ...seeded.flatMap((s, i) => [s, `seed${i}`]),
    );
    const stopAt = Date.now() + 3_500;
    let admitted = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, w) => {
        while (Date.now() < stopAt) {
          const r = await tryAdmit(fleet[w % 3].admission, tenant, w % 2 ? demand() : null);
          if (r.ok) admitted += 1;
          await sleep(5);
        }
      }),
    );
    // Every seeded slot left within the test, and each freed exactly one admission.
    expect(admitted).toBe(10);
    const live = await redis().client.zrange(reqKey(tenant.tenantId), 0, -1, 'WITHSCORES');
    const admittedAt: number[] = [];
    for (let i = 0; i < live.length; i += 2) admittedAt.push(Number(live[i + 1]));
    const all = [...seeded, ...admittedAt].sort((a, b) => a - b);
    for (const end of all) {
      const inWindow = all.filter((s) => s > end - 60_000_000 && s <= end).length;
      expect(inWindow).toBeLessThanOrEqual(10);
    }
  });

  it('Retry-After is honest: refused just before it, admitted once it has passed', async () => {
    const tenant = tenantContext({ rateLimit: 3 });
    const now = await redisNowUs();
    // Full window whose oldest slot leaves in 1.5 s.
    await redis().client.zadd(
      reqKey(tenant.tenantId),
      now - 58_500_000,
      'a',
      now - 30_000_000,
      'b',
      now - 1_000_000,
      'c',
    );
    const refused = await tryAdmit(fleet[1].admission, tenant, demand());
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    const waitMs = Number(refused.headers['retry-after-ms']);
    expect(refused.headers['Retry-After']).toBe('2');
    expect(waitMs).toBeGreaterThan(1_300);
    expect(waitMs).toBeLessThanOrEqual(1_500);
    expect(refused.headers['X-RateLimit-Reset']).toBe('2');
    await sleep(waitMs - 200);
    expect((await tryAdmit(fleet[2].admission, tenant, demand())).ok).toBe(false);
    await sleep(250);
    const after = await tryAdmit(fleet[0].admission, tenant, demand());
    expect(after.ok).toBe(true);
    if (!after.ok) return;
    expect(after.ticket.headers['X-RateLimit-Remaining']).toBe('0');
    // The oldest counted slot (b) leaves in ~30 s.
    expect(Number(after.ticket.headers['X-RateLimit-Reset'])).toBeGreaterThanOrEqual(27);
    expect(Number(after.ticket.headers['X-RateLimit-Reset'])).toBeLessThanOrEqual(30);
  });

  it('waiting Retry-After whole seconds is always enough', async () => {
    const tenant = tenantContext({ rateLimit: 1 });
    const now = await redisNowUs();
    await redis().client.zadd(reqKey(tenant.tenantId), now - 59_200_000, 'old');
    const refused = await tryAdmit(fleet[0].admission, tenant, null);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    await sleep(Number(refused.headers['Retry-After']) * 1000);
    expect((await tryAdmit(fleet[1].admission, tenant, null)).ok).toBe(true);
  });

  it('reserves tokens before the call and settles them to the actual count', async () => {
    const tenant = tenantContext({ rateLimit: 100, tokensPerMinute: 1000 });
    const a = await tryAdmit(fleet[0].admission, tenant, demand(10, 300, 200));
    const b = await tryAdmit(fleet[1].admission, tenant, demand(10, 300, 200));
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.ticket.headers['x-ratelimit-limit-tokens']).toBe('1000');
    expect(b.ticket.headers['x-ratelimit-remaining-tokens']).toBe('0');
    const refused = await tryAdmit(fleet[2].admission, tenant, demand(10, 300, 200));
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.code).toBe('tokens_rate_limit_exceeded');
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThanOrEqual(59);
    // A token refusal takes no request slot.
    expect(await redis().client.zcard(reqKey(tenant.tenantId))).toBe(2);

    await fleet[0].admission.settle(tenant, a.ticket, {
      promptTokens: 30,
      completionTokens: 20,
      costUnits: 5,
    });
    // 50 (settled) + 500 + 450 = 1000: fits exactly; before the settlement it could not.
    const c = await tryAdmit(fleet[2].admission, tenant, demand(10, 250, 200));
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.ticket.headers['x-ratelimit-remaining-tokens']).toBe('0');
    expect((await tryAdmit(fleet[0].admission, tenant, demand(10, 1, 0))).ok).toBe(false);
  });

  it('refuses a request whose own bound exceeds tokens_per_minute, saying so', async () => {
    const tenant = tenantContext({ tokensPerMinute: 100 });
    const r = await tryAdmit(fleet[0].admission, tenant, demand(1, 80, 50));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe('tokens_rate_limit_exceeded');
  });

  it('never refuses a cache hit for budget; a miss over budget takes its slot and gets 402', async () => {
    const tenant = tenantContext({ rateLimit: 5, monthlyBudget: '0' });
    for (let i = 0; i < 3; i++)
      expect((await tryAdmit(fleet[i].admission, tenant, null)).ok).toBe(true);
    const miss = await tryAdmit(fleet[0].admission, tenant, demand(1));
    expect(miss.ok).toBe(false);
    if (miss.ok) return;
    expect(miss.code).toBe('budget_exceeded');
    expect(miss.headers['x-should-retry']).toBe('false');
    expect(miss.headers['X-RateLimit-Remaining']).toBe('1');
    expect(await redis().client.zcard(reqKey(tenant.tenantId))).toBe(4);
    // A free request fits even a zero budget.
    expect((await tryAdmit(fleet[1].admission, tenant, demand(0))).ok).toBe(true);
  });

  it('peek reports the window without taking a slot', async () => {
    const tenant = tenantContext({ rateLimit: 4, tokensPerMinute: 500 });
    const t = await tryAdmit(fleet[0].admission, tenant, demand(1, 100, 100));
    expect(t.ok).toBe(true);
    const h = await fleet[1].admission.peek(tenant);
    expect(h['X-RateLimit-Limit']).toBe('4');
    expect(h['X-RateLimit-Remaining']).toBe('3');
    expect(Number(h['X-RateLimit-Reset'])).toBe(60);
    expect(h['x-ratelimit-remaining-tokens']).toBe('300');
    const h2 = await fleet[2].admission.peek(tenant);
    expect(h2['X-RateLimit-Remaining']).toBe('3');
    const empty = await fleet[2].admission.peek(tenantContext({ rateLimit: 7 }));
    expect(empty['X-RateLimit-Remaining']).toBe('7');
    expect(empty['X-RateLimit-Reset']).toBe('0');
  });

  it('applies a changed limit on the next request, on every instance', async () => {
    const tenant = tenantContext({ rateLimit: 2 });
    expect((await tryAdmit(fleet[0].admission, tenant, null)).ok).toBe(true);
    expect((await tryAdmit(fleet[1].admission, tenant, null)).ok).toBe(true);
    expect((await tryAdmit(fleet[2].admission, tenant, null)).ok).toBe(false);
    const raised = { ...tenant, rateLimit: 3, version: 2 };
    expect((await tryAdmit(fleet[2].admission, raised, null)).ok).toBe(true);
  });
});
