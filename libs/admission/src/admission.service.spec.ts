import { Logger } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { type RedisService, RedisUnavailableError } from '@gateway/redis';
import { strictFake, tenant } from './__fixtures__/strict-fake';
import type { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionTickets, type TicketState } from './admission-tickets';
import { AdmissionService } from './admission.service';
import { AdmissionSettings } from './admission.settings';
import type { AdmissionDemand, AdmissionTicket } from './admission.types';
import type { FallbackAdmission } from './fallback-admission';
import type { ReservationRenewer } from './reservation.renewer';
import type { SharedAdmission } from './shared-admission';
import { utcMonthOf } from './utc-month';

const MONTH = utcMonthOf(Date.UTC(2026, 11, 5));
const demand: AdmissionDemand = {
  promptTokensUpperBound: 100,
  maxCompletionTokens: 50,
  worstCaseCostUnits: 700,
};

/** The facade only picks a mode and hands over: its parts are faked, tickets are real. */
describe('AdmissionService (facade)', () => {
  let shared: boolean;
  let calls: string[];
  let sharedAdmit: (id: string, speculative: boolean) => Promise<AdmissionTicket | null>;
  let renewalDone: () => void;
  let tickets: AdmissionTickets;
  let service: AdmissionService;
  const t = tenant({ tokensPerMinute: 1000 });

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    shared = true;
    calls = [];
    renewalDone = () => undefined;
    tickets = new AdmissionTickets(new AdmissionSettings(60_000, true));
    sharedAdmit = (id) => Promise.resolve(issue(id, 'redis'));
    service = new AdmissionService(
      strictFake<RedisService>('redis', { isAvailable: () => true }),
      tickets,
      strictFake<AdmissionModeHandover>('handover', {
        get shared() {
          return shared;
        },
        enterFallback: (reason: string) => {
          calls.push(`enterFallback:${reason}`);
          shared = false;
        },
      }),
      strictFake<SharedAdmission>('shared', {
        admit: (_t, _d, id: string, _b, speculative: boolean) => {
          calls.push(`shared.admit:${speculative}`);
          return sharedAdmit(id, speculative);
        },
        settle: (_t, st: TicketState, tokens: number, cost: number) => {
          calls.push(`shared.settle:${st.id}:${tokens}:${cost}`);
          return Promise.resolve();
        },
        releaseAsHit: (_t, st: TicketState) => {
          calls.push(`shared.release:${st.id}`);
          return Promise.resolve();
        },
        peek: () => Promise.reject(new RedisUnavailableError('closed', false)),
      }),
      strictFake<FallbackAdmission>('fallback', {
        admit: (_t, _d, id: string) => {
          calls.push('fallback.admit');
          return Promise.resolve(issue(id, 'fallback'));
        },
        correctTokens: () => undefined,
        settle: (st: TicketState) => {
          calls.push(`fallback.settle:${st.id}`);
          return Promise.resolve();
        },
        peek: () => ({ 'x-ratelimit-remaining-requests': '9' }),
      }),
      strictFake<ReservationRenewer>('renewer', {
        keepAlive: (st: TicketState) => {
          calls.push(`keepAlive:${st.id}`);
          return () => undefined;
        },
        stop: (st: TicketState) => {
          calls.push(`renewer.stop:${st.id}`);
          return new Promise<void>((r) => (renewalDone = r));
        },
      }),
    );
  });

  function issue(id: string, where: 'redis' | 'fallback', over: Partial<TenantContext> = {}) {
    return tickets.issue(tenant(over), {
      id,
      mode: where,
      month: MONTH,
      headers: { 'x-ratelimit-remaining-tokens': '850' },
      remaining: 9,
      worstUnits: 700,
      tokens: 150,
      redisHeld: where === 'redis',
      pgHeld: where === 'fallback',
      localTokenBucket: null,
    });
  }

  describe('admit', () => {
    it('shared mode: Redis decides', async () => {
      expect((await service.admit(t, demand)).mode).toBe('redis');
      expect(calls).toEqual(['shared.admit:false']);
    });

    it('Redis lost: enters fallback and admits there, same call', async () => {
      sharedAdmit = () => Promise.reject(new RedisUnavailableError('timeout', true));
      expect((await service.admit(t, demand)).mode).toBe('fallback');
      expect(calls).toEqual(['shared.admit:false', 'enterFallback:timeout', 'fallback.admit']);
      await service.admit(t, demand);
      expect(calls.slice(3)).toEqual(['fallback.admit']);
    });

    it('a refusal from Redis is the answer: no fallback', async () => {
      sharedAdmit = () => Promise.reject(new Error('refused'));
      await expect(service.admit(t, demand)).rejects.toThrow('refused');
      expect(calls).toEqual(['shared.admit:false']);
    });

    it('a demand that is not whole numbers is a bug: RangeError, nothing taken', async () => {
      await expect(service.admit(t, { ...demand, maxCompletionTokens: 1.5 })).rejects.toThrow(
        RangeError,
      );
      expect(calls).toEqual([]);
    });
  });

  describe('speculate (never rejects)', () => {
    it('admitted, refused, or undecided when Redis is away', async () => {
      expect((await service.speculate(t, demand)).kind).toBe('admitted');
      sharedAdmit = () => Promise.resolve(null);
      expect(await service.speculate(t, demand)).toEqual({ kind: 'undecided' });
      const refusal = new Error('429');
      sharedAdmit = () => Promise.reject(refusal);
      expect(await service.speculate(t, demand)).toEqual({ kind: 'refused', error: refusal });
      sharedAdmit = () => Promise.reject(new RedisUnavailableError('down', false));
      expect(await service.speculate(t, demand)).toEqual({ kind: 'undecided' });
      expect(calls).toContain('enterFallback:down');
      calls = [];
      expect(await service.speculate(t, demand)).toEqual({ kind: 'undecided' });
      expect(calls).toEqual([]);
    });
  });

  describe('settle', () => {
    it('once per ticket; a hit’s or another instance’s ticket is a no-op', async () => {
      const ticket = await service.admit(t, demand);
      const settling = service.settle(t, ticket, {
        promptTokens: 10,
        completionTokens: 5,
        costUnits: 60,
      });
      renewalDone();
      await settling;
      await service.settle(t, ticket, null);
      await service.settle(t, { ...ticket }, null);
      await service.settle(t, { ...ticket, reservationId: null }, null);
      expect(calls.filter((c) => !c.startsWith('shared.admit'))).toEqual([
        `renewer.stop:${ticket.reservationId}`,
        `shared.settle:${ticket.reservationId}:15:60`,
      ]);
    });

    it('a Postgres settlement waits for a renewal still in flight', async () => {
      shared = false;
      const ticket = await service.admit(t, demand);
      const settling = service.settle(t, ticket, null);
      await new Promise((r) => setImmediate(r));
      expect(calls).not.toContain(`fallback.settle:${ticket.reservationId}`);
      renewalDone();
      await settling;
      expect(calls).toContain(`fallback.settle:${ticket.reservationId}`);
    });
  });

  it('releaseAsHit: a Redis-held ticket is released lean, with the tokens it held given back in the headers', async () => {
    const ticket = await service.admit(t, demand);
    const { headers, released } = service.releaseAsHit(t, ticket);
    await released;
    expect(headers['x-ratelimit-remaining-tokens']).toBe('1000');
    expect(calls.slice(1)).toEqual([
      `renewer.stop:${ticket.reservationId}`,
      `shared.release:${ticket.reservationId}`,
    ]);
    await service.settle(t, ticket, null); // released counts as settled
    expect(calls).toHaveLength(3);
  });

  it('keepAlive: renews the tenant’s own unsettled tickets only', async () => {
    const ticket = await service.admit(t, demand);
    service.keepAlive(tenant({ tenantId: 'someone-else' }), ticket)();
    expect(calls).not.toContain(`keepAlive:${ticket.reservationId}`);
    service.keepAlive(t, ticket);
    expect(calls).toContain(`keepAlive:${ticket.reservationId}`);
    const settling = service.settle(t, ticket, null);
    renewalDone();
    await settling;
    calls = [];
    service.keepAlive(t, ticket)();
    expect(calls).toEqual([]);
  });

  it('peek falls back to the local window when Redis is lost; health follows the mode', async () => {
    expect(service.isRedisAvailable()).toBe(true);
    expect(await service.peek(t)).toEqual({ 'x-ratelimit-remaining-requests': '9' });
    expect(calls).toEqual(['enterFallback:closed']);
    expect(service.isRedisAvailable()).toBe(false);
  });
});
