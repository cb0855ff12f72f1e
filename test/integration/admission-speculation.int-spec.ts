import type { Speculation } from '@gateway/admission';
import type { TenantContext } from '@gateway/context';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  type AdmissionInstance,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
} from '../support/admission';

jest.setTimeout(60_000);

/*
 * A miss is admitted while its cache lookup is still out (AdmissionService.speculate). What a
 * speculation may take depends on how it would fare as a hit: these tests pin down that a refusal a
 * hit would not meet takes nothing and claims no alert, and that a hit hands back all but its slot.
 */
describe('admission: speculative admission of a miss', () => {
  let db: TestDatabase;
  let inst: AdmissionInstance;

  const demand = (worst: number) => ({
    promptTokensUpperBound: 100,
    maxCompletionTokens: 100,
    worstCaseCostUnits: worst,
  });

  beforeAll(async () => {
    db = await createTestDatabase('adm_spec');
    inst = await startAdmission({ database: db, prefix: uniquePrefix('spec') });
  });

  afterAll(async () => {
    await inst?.close();
    await db?.drop();
  });

  const month = (t: TenantContext) =>
    inst.redis.client.hgetall(
      inst.redis.keys.tenant(t.tenantId, 'bud', new Date().toISOString().slice(0, 7)),
    );
  const remainingRequests = async (t: TenantContext) =>
    Number((await inst.admission.peek(t))['x-ratelimit-remaining-requests']);
  const admitted = (s: Speculation) => {
    if (s.kind !== 'admitted') throw new Error(`expected admitted, got ${s.kind}`);
    return s.ticket;
  };

  it('admitted: a miss holds slot, tokens and budget; released as a hit, only the slot stays', async () => {
    const tenant = tenantContext({ rateLimit: 5, tokensPerMinute: 1000, monthlyBudget: '1' });
    const ticket = admitted(await inst.admission.speculate(tenant, demand(1_000_000)));
    expect(ticket.reservationId).not.toBeNull();
    expect(ticket.headers['x-ratelimit-remaining-tokens']).toBe('800');
    expect((await month(tenant)).reserved).toBe('1000000');

    const { headers, released } = inst.admission.releaseAsHit(tenant, ticket);
    expect(headers['x-ratelimit-remaining-tokens']).toBe('1000');
    expect(headers['x-ratelimit-remaining-requests']).toBe('4');
    await released;
    const m = await month(tenant);
    expect(m.reserved).toBe('0');
    expect(m.spend).toBe('0');
    expect(await remainingRequests(tenant)).toBe(4);
    const next = await tryAdmit(inst.admission, tenant, demand(1));
    expect(next.ok && next.ticket.headers['x-ratelimit-remaining-tokens']).toBe('800');
  });

  it('hits released in the same turn (one batch) hand back everything but their slots', async () => {
    const tenant = tenantContext({ rateLimit: 10, tokensPerMinute: 1000, monthlyBudget: '1' });
    const tickets = await Promise.all(
      [1, 2, 3].map(async () => admitted(await inst.admission.speculate(tenant, demand(1000)))),
    );
    expect((await month(tenant)).reserved).toBe('3000');
    const releases = tickets.map((t) => inst.admission.releaseAsHit(tenant, t));
    // Each as if its own reservation had never been taken (the others' still count).
    expect(releases.map((r) => r.headers['x-ratelimit-remaining-tokens'])).toEqual([
      '1000',
      '800',
      '600',
    ]);
    await Promise.all(releases.map((r) => r.released));
    expect((await month(tenant)).reserved).toBe('0');
    const after = await inst.admission.peek(tenant);
    expect(after['x-ratelimit-remaining-tokens']).toBe('1000');
    expect(after['x-ratelimit-remaining-requests']).toBe('7');
    // A ticket is released once: settling it again changes nothing.
    await inst.admission.settle(tenant, tickets[0], {
      promptTokens: 1,
      completionTokens: 1,
      costUnits: 5,
    });
    expect((await month(tenant)).spend).toBe('0');
  });

  it('budget short: undecided, with no slot taken and no alert claimed; a miss is then refused once', async () => {
    const tenant = tenantContext({ rateLimit: 5, monthlyBudget: '0.0001' });
    const worst = 10_000_000; // 0.001 USD, ten times the budget
    expect(await inst.admission.speculate(tenant, demand(worst))).toEqual({ kind: 'undecided' });
    expect(await remainingRequests(tenant)).toBe(5);
    const claims = Object.keys(await month(tenant)).filter((f) => f.startsWith('a:'));
    expect(claims).toEqual([]);

    // As a hit: a slot only, served although the budget is spent.
    expect((await tryAdmit(inst.admission, tenant, null)).ok).toBe(true);
    // As a miss: refused the normal way, the refusal claims the 1.0 alert, one slot taken.
    const refused = await tryAdmit(inst.admission, tenant, demand(worst));
    expect(refused.ok === false && refused.code).toBe('budget_exceeded');
    expect(Object.keys(await month(tenant)).filter((f) => f.startsWith('a:'))).toHaveLength(1);
    expect(await remainingRequests(tenant)).toBe(3);
  });

  it('tokens short: undecided with nothing taken, and a hit is still admitted', async () => {
    const tenant = tenantContext({ rateLimit: 5, tokensPerMinute: 150 });
    expect(await inst.admission.speculate(tenant, demand(1))).toEqual({ kind: 'undecided' });
    expect(await remainingRequests(tenant)).toBe(5);
    const hit = await tryAdmit(inst.admission, tenant, null);
    expect(hit.ok && hit.ticket.headers['x-ratelimit-remaining-tokens']).toBe('150');
    const miss = await tryAdmit(inst.admission, tenant, demand(1));
    expect(miss.ok === false && miss.code).toBe('tokens_rate_limit_exceeded');
  });

  it('requests exhausted: refused outright, since a hit would be refused too', async () => {
    const tenant = tenantContext({ rateLimit: 1 });
    expect((await tryAdmit(inst.admission, tenant, null)).ok).toBe(true);
    const s = await inst.admission.speculate(tenant, demand(1));
    expect(s.kind).toBe('refused');
    expect(s.kind === 'refused' && (s.error as { code?: string }).code).toBe('rate_limit_exceeded');
  });
});
