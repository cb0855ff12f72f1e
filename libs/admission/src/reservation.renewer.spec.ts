import { Logger } from '@nestjs/common';
import type { RedisService } from '@gateway/redis';
import { strictFake } from './__fixtures__/strict-fake';
import { AdmissionSettings } from './admission.settings';
import type { TicketState } from './admission-tickets';
import type { PostgresBudgetStore } from './postgres-budget.store';
import type { RedisAdmissionStore } from './redis-admission.store';
import { ReservationRenewer } from './reservation.renewer';
import { utcMonthOf } from './utc-month';

const TTL = 9_000;
const PERIOD = 3_000;

function ticket(over: Partial<TicketState> = {}): TicketState {
  return {
    id: 'p.1',
    tenantId: 't1',
    month: utcMonthOf(Date.UTC(2026, 11, 5)),
    worstUnits: 100,
    tokens: 10,
    expiresAtMs: 0,
    redisHeld: true,
    pgHeld: false,
    localTokenBucket: null,
    settled: false,
    ...over,
  };
}

describe('ReservationRenewer', () => {
  let redisUp: boolean;
  let redisRenew: jest.Mock<Promise<number>, Parameters<RedisAdmissionStore['renew']>>;
  let pgRenew: jest.Mock<Promise<void>, Parameters<PostgresBudgetStore['renew']>>;
  let renewer: ReservationRenewer;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ now: Date.UTC(2026, 11, 5, 8) });
    redisUp = true;
    redisRenew = jest.fn((..._args: Parameters<RedisAdmissionStore['renew']>) =>
      Promise.resolve(1),
    );
    pgRenew = jest.fn((..._args: Parameters<PostgresBudgetStore['renew']>) => Promise.resolve());
    renewer = new ReservationRenewer(
      new AdmissionSettings(TTL, true),
      strictFake<RedisService>('redis', { isAvailable: () => redisUp }),
      strictFake<RedisAdmissionStore>('store', { renew: redisRenew }),
      strictFake<PostgresBudgetStore>('pg', { renew: pgRenew }),
    );
  });

  afterEach(() => {
    renewer.onModuleDestroy();
    jest.useRealTimers();
  });

  it('renews every third of the lifetime, pushing the expiry to now + lifetime', async () => {
    const st = ticket();
    renewer.keepAlive(st);
    await jest.advanceTimersByTimeAsync(PERIOD - 1);
    expect(redisRenew).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(redisRenew).toHaveBeenCalledWith('t1', st.month, ['p.1'], TTL);
    expect(st.expiresAtMs).toBe(Date.now() + TTL);
    await jest.advanceTimersByTimeAsync(2 * PERIOD);
    expect(redisRenew).toHaveBeenCalledTimes(3);
    expect(pgRenew).not.toHaveBeenCalled();
  });

  it('a reservation held in Postgres is renewed there; in Redis only while Redis is available', async () => {
    const st = ticket({ pgHeld: true });
    renewer.keepAlive(st);
    await jest.advanceTimersByTimeAsync(PERIOD);
    expect(redisRenew).toHaveBeenCalledTimes(1);
    expect(pgRenew).toHaveBeenCalledWith('p.1', TTL);
    redisUp = false;
    await jest.advanceTimersByTimeAsync(PERIOD);
    expect(redisRenew).toHaveBeenCalledTimes(1);
    expect(pgRenew).toHaveBeenCalledTimes(2);
  });

  it('a settled ticket: no timer, nothing renewed', async () => {
    const stop = renewer.keepAlive(ticket({ settled: true }));
    expect(renewer.size).toBe(0);
    await jest.advanceTimersByTimeAsync(3 * PERIOD);
    stop();
    expect(redisRenew).not.toHaveBeenCalled();
  });

  it('a ticket holding no reservation (fail-open, untracked): no timer', () => {
    renewer.keepAlive(ticket({ redisHeld: false, pgHeld: false }))();
    expect(renewer.size).toBe(0);
  });

  it('ends by itself once the ticket is settled', async () => {
    const st = ticket();
    renewer.keepAlive(st);
    await jest.advanceTimersByTimeAsync(PERIOD);
    st.settled = true;
    await jest.advanceTimersByTimeAsync(3 * PERIOD);
    expect(redisRenew).toHaveBeenCalledTimes(1);
    expect(renewer.size).toBe(0);
  });

  it('stop ends it (twice is fine); keepAlive again on the same ticket keeps one timer', async () => {
    const st = ticket();
    const stop = renewer.keepAlive(st);
    renewer.keepAlive(st);
    expect(renewer.size).toBe(1);
    stop();
    stop();
    await jest.advanceTimersByTimeAsync(3 * PERIOD);
    expect(redisRenew).not.toHaveBeenCalled();
    expect(renewer.size).toBe(0);
  });

  it('never throws: a failed renewal is logged and the next one still runs', async () => {
    redisRenew.mockRejectedValueOnce(new Error('redis down'));
    pgRenew.mockRejectedValueOnce(new Error('postgres down'));
    const st = ticket({ pgHeld: true });
    renewer.keepAlive(st);
    await jest.advanceTimersByTimeAsync(2 * PERIOD);
    expect(redisRenew).toHaveBeenCalledTimes(2);
    expect(pgRenew).toHaveBeenCalledTimes(2);
  });

  it('one renewal in flight per ticket; stop resolves once it is done', async () => {
    let finish!: () => void;
    pgRenew.mockImplementationOnce(() => new Promise<void>((r) => (finish = r)));
    const st = ticket({ redisHeld: false, pgHeld: true });
    renewer.keepAlive(st);
    await jest.advanceTimersByTimeAsync(3 * PERIOD);
    expect(pgRenew).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = renewer.stop(st).then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
  });
});
