import { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/errors';
import type { GatewayMetrics } from '@gateway/observability';
import { strictFake, tenant } from './__fixtures__/strict-fake';
import type { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionRefusals } from './admission-refusals';
import { AdmissionTickets } from './admission-tickets';
import { AdmissionSettings } from './admission.settings';
import { FallbackAdmission } from './fallback-admission';
import type { PgReserveResult, PostgresBudgetStore } from './postgres-budget.store';
import { PostgresUnavailableError } from './postgres-unavailable.error';

const demand = (worst = 700) => ({
  promptTokensUpperBound: 100,
  maxCompletionTokens: 50,
  worstCaseCostUnits: worst,
});
const BUDGET = 1_000;

describe('FallbackAdmission', () => {
  let events: string[];
  let reserve: jest.Mock<Promise<PgReserveResult>, Parameters<PostgresBudgetStore['reserve']>>;
  let claims: Array<{ tenantId: string; claim: string }>;
  let tickets: AdmissionTickets;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    events = [];
    claims = [];
    reserve = jest.fn((..._a: Parameters<PostgresBudgetStore['reserve']>) => {
      events.push('reserve');
      return Promise.resolve({ ok: true, spendUnits: 0, heldUnits: 0 });
    });
  });

  function build(failClosed = true): FallbackAdmission {
    const settings = new AdmissionSettings(60_000, failClosed);
    tickets = new AdmissionTickets(settings);
    const metrics = strictFake<GatewayMetrics>('metrics', {
      rateLimited: { inc: () => undefined } as unknown as GatewayMetrics['rateLimited'],
      budgetRejected: { inc: () => undefined } as unknown as GatewayMetrics['budgetRejected'],
    });
    return new FallbackAdmission(
      settings,
      strictFake<PostgresBudgetStore>('pg', {
        reserve,
        monthSpend: () => Promise.reject(new PostgresUnavailableError('down')),
        held: () => Promise.resolve(0),
      }),
      tickets,
      new AdmissionRefusals(metrics),
      strictFake<AdmissionModeHandover>('handover', {
        mirrored: () => {
          events.push('mirrored');
          return Promise.resolve();
        },
        queueRefusalClaim: (tenantId: string, _m, claim: string) =>
          void claims.push({ tenantId, claim }),
      }),
    );
  }

  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'admitted',
      (e: unknown) => (e instanceof GatewayError ? e.code : String(e)),
    );

  it('limits requests per instance; a refused request takes nothing', async () => {
    const fb = build();
    const t = tenant({ rateLimit: 2 });
    expect(await code(fb.admit(t, null, 'a', null))).toBe('admitted');
    expect(await code(fb.admit(t, demand(), 'b', null))).toBe('admitted');
    expect(await code(fb.admit(t, null, 'c', null))).toBe('rate_limit_exceeded');
    expect(fb.peek(t)['x-ratelimit-remaining-requests']).toBe('0');
  });

  it('a token refusal gives the request slot back', async () => {
    const fb = build();
    const t = tenant({ rateLimit: 5, tokensPerMinute: 200 });
    expect(await code(fb.admit(t, demand(), 'a', null))).toBe('admitted');
    expect(await code(fb.admit(t, demand(), 'b', null))).toBe('tokens_rate_limit_exceeded');
    const headers = fb.peek(t);
    expect(headers['x-ratelimit-remaining-requests']).toBe('4');
    expect(headers['x-ratelimit-remaining-tokens']).toBe('50');
  });

  it('reserves the worst case in Postgres, after the hand-over copied Redis reservations there', async () => {
    const fb = build();
    const t = tenant({ monthlyBudget: '0.0000001' });
    const ticket = await fb.admit(t, demand(), 'id.1', BUDGET);
    expect(events).toEqual(['mirrored', 'reserve']);
    expect(reserve).toHaveBeenCalledWith(
      t.tenantId,
      'id.1',
      expect.anything(),
      700,
      BUDGET,
      60_000,
    );
    expect(ticket).toEqual(
      expect.objectContaining({ mode: 'fallback', reservationId: 'id.1', reservedUnits: 700 }),
    );
    expect(tickets.stateOf(ticket)).toEqual(
      expect.objectContaining({ pgHeld: true, redisHeld: false }),
    );
  });

  it('a cache hit or an unlimited tenant never asks Postgres', async () => {
    const fb = build();
    await fb.admit(tenant({ monthlyBudget: '1' }), null, 'a', BUDGET);
    await fb.admit(tenant(), demand(), 'b', null);
    expect(reserve).not.toHaveBeenCalled();
  });

  it('over budget: 402, tokens given back, the 1.0 alert queued to be claimed in Redis', async () => {
    reserve.mockResolvedValueOnce({ ok: false, spendUnits: 900, heldUnits: 50 });
    const fb = build();
    const t = tenant({ tokensPerMinute: 1000, monthlyBudget: '0.0000001' });
    expect(await code(fb.admit(t, demand(), 'a', BUDGET))).toBe('budget_exceeded');
    expect(claims).toEqual([{ tenantId: t.tenantId, claim: '1' }]);
    expect(fb.peek(t)['x-ratelimit-remaining-tokens']).toBe('1000');
    // The slot stays taken, as in shared mode.
    expect(fb.peek(t)['x-ratelimit-remaining-requests']).toBe('9');
  });

  it('Postgres unavailable: fail-closed answers 503 and gives the tokens back; fail-open admits untracked', async () => {
    reserve.mockRejectedValue(new PostgresUnavailableError('frozen'));
    const t = tenant({ tokensPerMinute: 1000, monthlyBudget: '1' });
    const closed = build(true);
    expect(await code(closed.admit(t, demand(), 'a', BUDGET))).toBe('dependency_unavailable');
    expect(closed.peek(t)['x-ratelimit-remaining-tokens']).toBe('1000');
    const open = build(false);
    const ticket = await open.admit(t, demand(), 'b', BUDGET);
    expect(ticket.reservedUnits).toBe(0);
    expect(tickets.stateOf(ticket)?.pgHeld).toBe(false);
  });

  it('settling corrects the local token count to what the request used', async () => {
    const fb = build();
    const t = tenant({ tokensPerMinute: 1000 });
    const ticket = await fb.admit(t, demand(), 'a', null);
    expect(fb.peek(t)['x-ratelimit-remaining-tokens']).toBe('850');
    fb.correctTokens(t, tickets.stateOf(ticket)!, 30);
    expect(fb.peek(t)['x-ratelimit-remaining-tokens']).toBe('970');
  });

  it('month spend: null when Postgres cannot answer', async () => {
    const fb = build();
    const month = { label: '2026-12', startMs: 0, endMs: 1, expireAtMs: 2 };
    expect(await fb.monthSpend('t', month)).toBeNull();
  });
});
