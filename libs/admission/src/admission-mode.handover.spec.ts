import { Logger } from '@nestjs/common';
import type { GatewayMetrics } from '@gateway/observability';
import type { RedisService } from '@gateway/redis';
import { strictFake, tenant } from './__fixtures__/strict-fake';
import { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionTickets } from './admission-tickets';
import { AdmissionSettings } from './admission.settings';
import type { AdmissionTicket } from './admission.types';
import type { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import type { PgReservationRow, PostgresBudgetStore } from './postgres-budget.store';
import type { SettleParams, SettleReply } from './redis-admission.replies';
import type { RedisAdmissionStore } from './redis-admission.store';
import { utcMonthOf } from './utc-month';

const NOW_MS = Date.UTC(2026, 11, 5, 8);
const MONTH = utcMonthOf(NOW_MS);
const PROFILE = { fractions: [0.5], budgetUnits: 1_000, url: null, secret: null };

describe('AdmissionModeHandover', () => {
  let redisUp: boolean;
  let breakerListener: ((available: boolean) => void) | null;
  let mirrored: PgReservationRow[][];
  let reasserted: string[];
  let reassertReply: 'OK' | 'NOKEY' | 'STALE';
  let replayed: SettleParams[];
  let fired: Array<{ claimed: readonly string[] }>;
  let up: number[];
  let tickets: AdmissionTickets;
  let handover: AdmissionModeHandover;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW_MS });
    redisUp = true;
    breakerListener = null;
    mirrored = [];
    reasserted = [];
    reassertReply = 'OK';
    replayed = [];
    fired = [];
    up = [];
    tickets = new AdmissionTickets(new AdmissionSettings(60_000, true));
    handover = new AdmissionModeHandover(
      strictFake<RedisService>('redis', {
        isAvailable: () => redisUp,
        breaker: {
          onChange: (cb: (available: boolean) => void) => {
            breakerListener = cb;
            return () => (breakerListener = null);
          },
        } as unknown as RedisService['breaker'],
      }),
      strictFake<RedisAdmissionStore>('store', {
        redisNowMs: () => NOW_MS,
        reassert: (_t: string, _m, id: string) => {
          reasserted.push(id);
          return Promise.resolve(reassertReply);
        },
        settle: (p: SettleParams): Promise<SettleReply> => {
          replayed.push(p);
          return Promise.resolve({
            kind: 'OK',
            nowUs: NOW_MS * 1000,
            spendUnits: 600,
            reservedUnits: 0,
            applied: true,
            claimed: p.costUnits > 0 ? ['0.5'] : [],
          });
        },
      }),
      strictFake<PostgresBudgetStore>('pg', {
        mirror: (rows: readonly PgReservationRow[]) => {
          mirrored.push([...rows]);
          return Promise.resolve();
        },
      }),
      tickets,
      strictFake<BudgetAlertDispatcher>('alerts', {
        fire: (_t: string, claimed: readonly string[]) => void fired.push({ claimed }),
      }),
      strictFake<GatewayMetrics>('metrics', {
        redisUp: { set: (v: number) => void up.push(v) } as unknown as GatewayMetrics['redisUp'],
      }),
    );
  });

  afterEach(() => {
    handover.onModuleDestroy();
    jest.useRealTimers();
  });

  /** A ticket in flight on this instance, as shared or fallback admission would issue it. */
  function inFlight(id: string, where: 'redis' | 'pg', worstUnits = 500): AdmissionTicket {
    return tickets.issue(tenant(), {
      id,
      mode: where === 'redis' ? 'redis' : 'fallback',
      month: MONTH,
      headers: {},
      remaining: 1,
      worstUnits,
      tokens: 0,
      redisHeld: where === 'redis',
      pgHeld: where === 'pg',
      localTokenBucket: null,
    });
  }

  it('follows the breaker: opened → fallback, closed → resumed; starts in fallback without Redis', async () => {
    handover.onModuleInit();
    expect(handover.mode).toBe('shared');
    expect(up).toEqual([1]);
    breakerListener?.(false);
    expect(handover.mode).toBe('fallback');
    breakerListener?.(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(handover.mode).toBe('shared');
    expect(up).toEqual([1, 0, 1]);

    redisUp = false;
    handover.onModuleDestroy();
    handover.onModuleInit();
    expect(handover.mode).toBe('fallback');
    // Without a word from the breaker, the resume timer brings it back once Redis answers.
    redisUp = true;
    await jest.advanceTimersByTimeAsync(500);
    expect(handover.mode).toBe('shared');
  });

  it('leaving shared mode copies the Redis reservations of requests in flight to Postgres, once', async () => {
    const running = inFlight('r.1', 'redis');
    inFlight('r.free', 'redis', 0); // nothing reserved: nothing to copy
    inFlight('p.1', 'pg'); // already in Postgres
    handover.enterFallback('test');
    handover.enterFallback('again');
    await handover.mirrored();
    expect(mirrored).toEqual([
      [expect.objectContaining({ id: 'r.1', units: 500, expiresAtMs: NOW_MS + 60_000 })],
    ]);
    expect(tickets.stateOf(running)?.pgHeld).toBe(true);
  });

  it('resumes only while Redis answers, and only from fallback', async () => {
    await handover.resume();
    expect(handover.mode).toBe('shared');
    handover.enterFallback('test');
    redisUp = false;
    await handover.resume();
    expect(handover.mode).toBe('fallback');
    expect(reasserted).toEqual([]);
  });

  it('resuming re-asserts fallback reservations, replays the queue, and only then admits on Redis', async () => {
    handover.enterFallback('test');
    inFlight('p.1', 'pg');
    const settledRedisTicket = tickets.stateOf(inFlight('r.1', 'redis'))!;
    tickets.close(settledRedisTicket);
    handover.queueReplay(settledRedisTicket, 'unsent', 20, 600, NOW_MS - 100, PROFILE);
    const pgOnly = { ...settledRedisTicket, id: 'p.2', redisHeld: false };
    handover.queueReplay(pgOnly, 'unsent', 0, 100, NOW_MS - 100, PROFILE);
    handover.queueReplay(pgOnly, 'unsent', 0, 50, NOW_MS - 50, PROFILE);
    handover.queueRefusalClaim('t2', MONTH, '1', PROFILE);
    expect(handover.pendingReplays).toBe(3);

    await handover.resume();
    expect(handover.mode).toBe('shared');
    expect(reasserted).toEqual(['p.1']);
    expect(replayed.map((p) => [p.mode, p.costUnits, p.claim, p.liveMonthCheck])).toEqual([
      ['unsent', 600, '', false],
      ['unsent', 150, '', false], // costs without a Redis reservation: summed per tenant
      ['unsent', 0, '1', false],
    ]);
    expect(fired).toEqual([{ claimed: ['0.5'] }, { claimed: ['0.5'] }, { claimed: [] }]);
    expect(handover.pendingReplays).toBe(0);
  });

  it('a resume that fails mid-way goes back to fallback and keeps what it did not replay', async () => {
    handover.enterFallback('test');
    inFlight('p.1', 'pg');
    const st = tickets.stateOf(inFlight('r.1', 'redis'))!;
    handover.queueReplay(st, 'ambiguous', 0, 600, NOW_MS, PROFILE);
    reassertReply = 'STALE';
    await handover.resume();
    expect(handover.mode).toBe('fallback');
    expect(replayed).toEqual([]);
    expect(handover.pendingReplays).toBe(1);

    reassertReply = 'OK';
    await handover.resume();
    expect(handover.mode).toBe('shared');
    expect(replayed).toHaveLength(1);
  });

  it('a ticket settled while its reservation was re-asserted gets that copy released', async () => {
    handover.enterFallback('test');
    const st = tickets.stateOf(inFlight('p.1', 'pg'))!;
    reassertReply = 'OK';
    const resuming = handover.resume();
    tickets.close(st); // settles while the reassert is out
    await resuming;
    expect(st.redisHeld).toBe(true);
    expect(replayed).toEqual([
      expect.objectContaining({ id: 'p.1', mode: 'ambiguous', tokens: null, costUnits: 0 }),
    ]);
  });
});
