import { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/errors';
import type { GatewayMetrics } from '@gateway/observability';
import { RedisUnavailableError } from '@gateway/redis';
import { strictFake, tenant } from './__fixtures__/strict-fake';
import type { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionRefusals } from './admission-refusals';
import { AdmissionTickets, type TicketState } from './admission-tickets';
import { AdmissionSettings } from './admission.settings';
import type { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import type { PostgresBudgetStore } from './postgres-budget.store';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import type { AdmitParams, AdmitReply, SettleParams, SettleReply } from './redis-admission.replies';
import type { RedisAdmissionStore } from './redis-admission.store';
import { SharedAdmission } from './shared-admission';
import { utcMonthOf } from './utc-month';

const NOW_MS = Date.UTC(2026, 11, 5, 8);
const NOW_US = NOW_MS * 1000;
const DEC = '2026-12';
const demand = { promptTokensUpperBound: 100, maxCompletionTokens: 50, worstCaseCostUnits: 700 };

/** A reply as ADMIT_LUA gives it; `nowUs` and the window state default to a fresh window. */
const ok = (over: Partial<Extract<AdmitReply, { kind: 'OK' }>> = {}): AdmitReply => ({
  kind: 'OK',
  nowUs: NOW_US,
  count: 1,
  oldestUs: NOW_US,
  spendUnits: 0,
  reservedUnits: 700,
  tokensUsed: 150,
  tokenOldestUs: NOW_US,
  ...over,
});

describe('SharedAdmission', () => {
  let replies: AdmitReply[];
  let sent: AdmitParams[];
  let settles: SettleParams[];
  let settleReply: () => Promise<SettleReply>;
  let released: Array<{ tenantId: string; ids: readonly string[] }>;
  let fired: Array<{ tenantId: string; claimed: readonly string[] }>;
  let monthSpend: jest.Mock<Promise<number>, []>;
  let handover: {
    shared: boolean;
    entered: string[];
    replays: Array<{ id: string; mode: string; cost: number }>;
  };
  let failClosed: boolean;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    replies = [];
    sent = [];
    settles = [];
    released = [];
    fired = [];
    settleReply = () =>
      Promise.resolve({
        kind: 'OK',
        nowUs: NOW_US,
        spendUnits: 0,
        reservedUnits: 0,
        applied: true,
        claimed: [],
      });
    monthSpend = jest.fn(() => Promise.resolve(0));
    handover = { shared: true, entered: [], replays: [] };
    failClosed = true;
  });

  function build(): SharedAdmission {
    const settings = new AdmissionSettings(60_000, failClosed);
    const metrics = strictFake<GatewayMetrics>('metrics', {
      rateLimited: { inc: () => undefined } as unknown as GatewayMetrics['rateLimited'],
      budgetRejected: { inc: () => undefined } as unknown as GatewayMetrics['budgetRejected'],
    });
    const store = strictFake<RedisAdmissionStore>('store', {
      redisNowMs: () => NOW_MS,
      admit: (p: AdmitParams) => {
        sent.push(p);
        const r = replies.shift();
        if (!r) throw new Error('no admit reply scripted');
        return Promise.resolve(r);
      },
      settle: (p: SettleParams) => {
        settles.push(p);
        return settleReply();
      },
      release: (tenantId: string, _m: unknown, ids: readonly string[]) => {
        released.push({ tenantId, ids });
        return Promise.resolve();
      },
    });
    const fakeHandover = strictFake<AdmissionModeHandover>('handover', {
      get shared() {
        return handover.shared;
      },
      enterFallback: (reason: string) => void handover.entered.push(reason),
      replayNotAfterMs: () => NOW_MS - 100,
      queueReplay: (st, mode, _tokens, cost) =>
        void handover.replays.push({ id: st.id, mode, cost }),
    });
    return new SharedAdmission(
      settings,
      store,
      strictFake<PostgresBudgetStore>('pg', { monthSpend }),
      new AdmissionTickets(settings),
      new AdmissionRefusals(metrics),
      strictFake<BudgetAlertDispatcher>('alerts', {
        fire: (tenantId: string, claimed: readonly string[]) =>
          void fired.push({ tenantId, claimed }),
      }),
      fakeHandover,
    );
  }

  const refusal = async (p: Promise<unknown>): Promise<GatewayError> => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof GatewayError))
      throw new Error(`expected a GatewayError, got ${String(err)}`);
    return err;
  };

  describe('admit', () => {
    it('OK: a ticket holding slot, tokens and budget, with the window in its headers', async () => {
      replies.push(ok({ count: 3 }));
      const t = tenant({ tokensPerMinute: 1000, monthlyBudget: '1' });
      const ticket = await build().admit(t, demand, 'id.1', 10_000_000_000, false);
      expect(ticket).toEqual(
        expect.objectContaining({
          reservationId: 'id.1',
          mode: 'redis',
          month: DEC,
          reservedUnits: 700,
          reservedTokens: 150,
          rateLimitRemaining: 7,
        }),
      );
      expect(ticket?.headers['x-ratelimit-remaining-tokens']).toBe('850');
      expect(sent[0]).toEqual(
        expect.objectContaining({
          miss: true,
          speculative: false,
          tokenDemand: 150,
          trackBudget: true,
        }),
      );
      expect(sent[0].month.label).toBe(DEC);
    });

    it('a cache hit: a slot only, no reservation to settle', async () => {
      replies.push(ok());
      const ticket = await build().admit(tenant(), null, 'id.2', null, false);
      expect(ticket?.reservationId).toBeNull();
      expect(ticket?.reservedUnits).toBe(0);
      expect(sent[0]).toEqual(expect.objectContaining({ miss: false, trackBudget: false }));
    });

    it('RATE: 429 rate_limit_exceeded with the wait Redis computed', async () => {
      replies.push({ kind: 'RATE', nowUs: NOW_US, count: 10, waitUs: 1_500_000 });
      const err = await refusal(build().admit(tenant(), demand, 'id', null, false));
      expect(err.code).toBe('rate_limit_exceeded');
      expect(err.headers).toEqual(
        expect.objectContaining({ 'Retry-After': '2', 'retry-after-ms': '1500' }),
      );
    });

    it('TOKENS: 429 tokens_rate_limit_exceeded; a speculation stays undecided instead', async () => {
      const tokens: AdmitReply = {
        kind: 'TOKENS',
        nowUs: NOW_US,
        tokensUsed: 900,
        waitUs: 2_000_000,
        count: 1,
        oldestUs: NOW_US,
      };
      const t = tenant({ tokensPerMinute: 1000 });
      replies.push(tokens);
      const err = await refusal(build().admit(t, demand, 'id', null, false));
      expect(err.code).toBe('tokens_rate_limit_exceeded');
      replies.push(tokens);
      expect(await build().admit(t, demand, 'id', null, true)).toBeNull();
    });

    it('BUDGET: 402 that says not to retry, and the claimed threshold fires once', async () => {
      replies.push({
        kind: 'BUDGET',
        nowUs: NOW_US,
        count: 1,
        oldestUs: NOW_US,
        spendUnits: 9_000,
        reservedUnits: 500,
        claimed: '1',
      });
      const t = tenant({ monthlyBudget: '0.000001' });
      const err = await refusal(build().admit(t, demand, 'id', 10_000, false));
      expect(err.code).toBe('budget_exceeded');
      expect(err.headers?.['x-should-retry']).toBe('false');
      expect(fired).toEqual([{ tenantId: t.tenantId, claimed: ['1'] }]);
    });

    it('MONTH: asks again in the month Redis says it is', async () => {
      const jan = Date.UTC(2027, 0, 1, 0, 0, 1) * 1000;
      replies.push({ kind: 'MONTH', nowUs: jan }, ok());
      const ticket = await build().admit(tenant(), demand, 'id', null, false);
      expect(sent.map((p) => p.month.label)).toEqual([DEC, '2027-01']);
      expect(ticket?.month).toBe('2027-01');
    });

    it('REBUILD: the month spend comes from Postgres, then the script creates the hash', async () => {
      monthSpend.mockResolvedValue(4_200);
      replies.push({ kind: 'REBUILD', nowUs: NOW_US }, ok());
      await build().admit(tenant({ monthlyBudget: '1' }), demand, 'id', 10_000_000_000, false);
      expect(sent.map((p) => p.initSpendUnits)).toEqual([null, 4_200]);
    });

    it('REBUILD without Postgres, fail-closed: 503 for a budgeted tenant, undecided for a speculation', async () => {
      monthSpend.mockRejectedValue(new PostgresUnavailableError('down'));
      const t = tenant({ monthlyBudget: '1' });
      replies.push({ kind: 'REBUILD', nowUs: NOW_US });
      const err = await refusal(build().admit(t, demand, 'id', 10_000_000_000, false));
      expect(err.code).toBe('dependency_unavailable');
      expect(err.headers?.['Retry-After']).toBe('2');
      replies.push({ kind: 'REBUILD', nowUs: NOW_US });
      expect(await build().admit(t, demand, 'id', 10_000_000_000, true)).toBeNull();
    });

    it('REBUILD without Postgres, fail-open or unlimited: admitted without budget tracking', async () => {
      failClosed = false;
      monthSpend.mockRejectedValue(new PostgresUnavailableError('down'));
      replies.push({ kind: 'REBUILD', nowUs: NOW_US }, ok());
      const ticket = await build().admit(tenant(), demand, 'id', 10_000, false);
      expect(sent.map((p) => p.trackBudget)).toEqual([true, false]);
      expect(ticket?.reservedUnits).toBe(0);
    });

    it('STALE, or no convergence in four answers: RedisUnavailableError for the facade', async () => {
      replies.push({ kind: 'STALE', nowUs: NOW_US });
      await expect(build().admit(tenant(), demand, 'id', null, false)).rejects.toThrow(
        RedisUnavailableError,
      );
      for (let i = 0; i < 4; i++) replies.push({ kind: 'MONTH', nowUs: NOW_US });
      await expect(build().admit(tenant(), demand, 'id', null, false)).rejects.toThrow(
        'admission did not converge',
      );
      expect(replies).toEqual([]);
    });
  });

  describe('settle', () => {
    const t = tenant({ monthlyBudget: '1' });

    it('live: one script with the actual tokens and cost; crossed thresholds fire', async () => {
      settleReply = () =>
        Promise.resolve({
          kind: 'OK',
          nowUs: NOW_US,
          spendUnits: 6_000_000_000,
          reservedUnits: 0,
          applied: true,
          claimed: ['0.5'],
        });
      const shared = build();
      await shared.settle(t, stateFor('id.s', t.tenantId), 42, 600);
      expect(settles).toHaveLength(1);
      expect(settles[0]).toEqual(
        expect.objectContaining({ id: 'id.s', mode: 'live', tokens: 42, costUnits: 600 }),
      );
      expect(fired).toEqual([{ tenantId: t.tenantId, claimed: ['0.5'] }]);
    });

    it('Redis lost mid-way: fallback, and the settlement is queued (ambiguous if it may have run)', async () => {
      settleReply = () => Promise.reject(new RedisUnavailableError('timeout', true));
      const shared = build();
      await shared.settle(t, stateFor('id.s', t.tenantId), 1, 600);
      expect(handover.entered).toEqual(['timeout']);
      expect(handover.replays).toEqual([{ id: 'id.s', mode: 'ambiguous', cost: 600 }]);
    });

    it('in fallback: queued as unsent without asking Redis', async () => {
      const shared = build();
      handover.shared = false;
      await shared.settle(t, stateFor('id.s', t.tenantId), 1, 600);
      expect(settles).toEqual([]);
      expect(handover.replays).toEqual([{ id: 'id.s', mode: 'unsent', cost: 600 }]);
    });

    it('a fallback reservation Redis never saw, that cost nothing: nothing to tell Redis', async () => {
      const shared = build();
      await shared.settle(tenant(), stateFor('id.f', 't', { redisHeld: false }), 0, 0);
      expect(settles).toEqual([]);
      expect(handover.replays).toEqual([]);
    });
  });

  it('releaseAsHit: the hits of one tenant and month in one turn share one release', async () => {
    const shared = build();
    const t = tenant();
    await Promise.all([
      shared.releaseAsHit(t, stateFor('h.1', t.tenantId)),
      shared.releaseAsHit(t, stateFor('h.2', t.tenantId)),
      shared.releaseAsHit(tenant({ tenantId: 'other' }), stateFor('h.3', 'other')),
    ]);
    expect(released).toEqual([
      { tenantId: t.tenantId, ids: ['h.1', 'h.2'] },
      { tenantId: 'other', ids: ['h.3'] },
    ]);
  });
});

function stateFor(id: string, tenantId: string, over: Partial<TicketState> = {}): TicketState {
  return {
    id,
    tenantId,
    month: utcMonthOf(NOW_MS),
    worstUnits: 700,
    tokens: 150,
    expiresAtMs: NOW_MS + 60_000,
    redisHeld: true,
    pgHeld: false,
    localTokenBucket: null,
    settled: true,
    ...over,
  };
}
