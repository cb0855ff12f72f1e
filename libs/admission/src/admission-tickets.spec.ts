import { tenant } from './__fixtures__/strict-fake';
import { AdmissionTickets, type Issued } from './admission-tickets';
import { AdmissionSettings } from './admission.settings';
import { utcMonthOf } from './utc-month';

const issued = (over: Partial<Issued> = {}): Issued => ({
  id: 'x',
  mode: 'redis',
  month: utcMonthOf(Date.UTC(2026, 11, 5)),
  headers: { 'x-ratelimit-remaining-requests': '4' },
  remaining: 4,
  worstUnits: 700,
  tokens: 150,
  redisHeld: true,
  pgHeld: false,
  localTokenBucket: null,
  ...over,
});

describe('AdmissionTickets', () => {
  const tickets = () => new AdmissionTickets(new AdmissionSettings(60_000, true));

  it('ids are unique per process and across processes (random prefix)', () => {
    const a = tickets();
    const b = tickets();
    const ids = new Set([a.nextId(), a.nextId(), b.nextId(), b.nextId()]);
    expect(ids.size).toBe(4);
  });

  it('a ticket is frozen and carries only what the caller may see', () => {
    const ticket = tickets().issue(tenant(), issued({ remaining: -1 }));
    expect(Object.isFrozen(ticket)).toBe(true);
    expect(Object.isFrozen(ticket.headers)).toBe(true);
    expect(ticket).toEqual({
      headers: { 'x-ratelimit-remaining-requests': '4' },
      rateLimitRemaining: 0,
      reservationId: 'x',
      mode: 'redis',
      month: '2026-12',
      reservedUnits: 700,
      reservedTokens: 150,
    });
  });

  it('a cache hit has no state: nothing to settle', () => {
    const t = tickets();
    const ticket = t.issue(tenant(), issued({ id: null }));
    expect(t.stateOf(ticket)).toBeUndefined();
    expect(t.inFlight()).toEqual([]);
  });

  it('state is found by the ticket itself: a copy of a ticket is not this instance’s', () => {
    const t = tickets();
    const ticket = t.issue(tenant(), issued());
    expect(t.stateOf(ticket)).toEqual(expect.objectContaining({ id: 'x', settled: false }));
    expect(t.stateOf({ ...ticket })).toBeUndefined();
  });

  it('closes once, and a closed ticket is no longer in flight', () => {
    const t = tickets();
    const st = t.stateOf(t.issue(tenant(), issued()))!;
    expect(t.inFlight()).toEqual([st]);
    expect(t.close(st)).toBe(true);
    expect(t.close(st)).toBe(false);
    expect(t.inFlight()).toEqual([]);
  });
});
