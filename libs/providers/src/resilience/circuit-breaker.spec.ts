import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker';

const OPTS: CircuitBreakerOptions = {
  failureThreshold: 3,
  failureRatio: 0.5,
  minRequests: 10,
  windowMs: 10_000,
  openMs: 1_000,
  maxOpenMs: 4_000,
  probeTimeoutMs: 5_000,
};

function breaker(opts: Partial<CircuitBreakerOptions> = {}) {
  const transitions: CircuitState[] = [];
  const b = new CircuitBreaker({ ...OPTS, ...opts }, (s) => transitions.push(s));
  return { b, transitions };
}

describe('CircuitBreaker', () => {
  it('opens after consecutive failures and rejects without a call while open', () => {
    const { b, transitions } = breaker();
    const t = 1_000_000;
    b.onFailure(t, false);
    b.onFailure(t, false);
    expect(b.tryAcquire(t)).toBe('allow');
    b.onFailure(t, false);
    expect(b.current(t)).toBe('open');
    expect(b.tryAcquire(t + 999)).toBe('reject');
    expect(transitions).toEqual(['open']);
  });

  it('a success resets the consecutive count', () => {
    const { b } = breaker();
    const t = 1_000_000;
    b.onFailure(t, false);
    b.onFailure(t, false);
    b.onSuccess(t, false);
    b.onFailure(t, false);
    b.onFailure(t, false);
    expect(b.current(t)).toBe('closed');
  });

  it('opens on the failure ratio once the window has enough calls', () => {
    const { b } = breaker({ failureThreshold: 100 });
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) {
      b.onSuccess(t, false);
      b.onFailure(t, false);
    }
    expect(b.current(t)).toBe('open');
  });

  it('forgets outcomes older than the window', () => {
    const { b } = breaker({ failureThreshold: 100 });
    const t = 1_000_000;
    for (let i = 0; i < 4; i++) b.onFailure(t, false);
    for (let i = 0; i < 6; i++) b.onSuccess(t + 11_000, false);
    b.onFailure(t + 11_000, false);
    expect(b.current(t + 11_000)).toBe('closed');
  });

  it('half-open after the ejection: one probe at a time; success closes', () => {
    const { b, transitions } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    expect(b.current(t + 1_000)).toBe('half_open');
    expect(b.tryAcquire(t + 1_000)).toBe('probe');
    expect(b.tryAcquire(t + 1_001)).toBe('reject');
    b.onSuccess(t + 1_050, true);
    expect(b.current(t + 1_050)).toBe('closed');
    expect(b.tryAcquire(t + 1_051)).toBe('allow');
    expect(transitions).toEqual(['open', 'half_open', 'closed']);
  });

  it('a failed probe reopens with a doubled ejection, capped at maxOpenMs', () => {
    const { b } = breaker();
    let t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    const ejections: number[] = [];
    for (let round = 0; round < 4; round++) {
      let wait = 0;
      while (b.current(t + wait) !== 'half_open') wait += 100;
      ejections.push(wait);
      t += wait;
      expect(b.tryAcquire(t)).toBe('probe');
      b.onFailure(t, true);
    }
    expect(ejections).toEqual([1_000, 2_000, 4_000, 4_000]);
  });

  it('the ejection starts small again after a stable close', () => {
    const { b } = breaker();
    let t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    t += 1_000;
    b.tryAcquire(t);
    b.onFailure(t, true); // 2 s now
    t += 2_000;
    b.tryAcquire(t);
    b.onSuccess(t, true);
    t += 61_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    expect(b.current(t + 999)).toBe('open');
    expect(b.current(t + 1_000)).toBe('half_open');
  });

  it('ignores late outcomes of calls that started before it opened', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    b.onSuccess(t + 10, false);
    expect(b.current(t + 10)).toBe('open');
  });

  it('a probe released without a verdict lets the next request probe', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    expect(b.tryAcquire(t + 1_000)).toBe('probe');
    b.release(true);
    expect(b.tryAcquire(t + 1_001)).toBe('probe');
  });

  it('a stuck probe frees its slot after probeTimeoutMs', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    expect(b.tryAcquire(t + 1_000)).toBe('probe');
    expect(b.tryAcquire(t + 5_999)).toBe('reject');
    expect(b.tryAcquire(t + 6_000)).toBe('probe');
  });

  it('health: an unreachable provider opens the circuit at once and holds it open', () => {
    const { b } = breaker();
    const t = 1_000_000;
    b.onHealth('unreachable', t);
    expect(b.current(t)).toBe('open');
    // The ejection has long ended, but the health checks still cannot reach it: no real probes.
    expect(b.current(t + 60_000)).toBe('open');
    expect(b.tryAcquire(t + 60_000)).toBe('reject');
    b.onHealth('ok', t + 60_100);
    expect(b.current(t + 60_100)).toBe('half_open');
    expect(b.tryAcquire(t + 60_100)).toBe('probe');
    b.onSuccess(t + 60_150, true);
    expect(b.current(t + 60_150)).toBe('closed');
  });

  it('health: a success when it was never down does not cut an ejection short', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    b.onHealth('ok', t + 100);
    expect(b.current(t + 100)).toBe('open');
    expect(b.current(t + 1_000)).toBe('half_open');
  });

  it('health: other failures (e.g. 404 on the health path) leave the circuit to traffic', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 10; i++) b.onHealth('other', t + i);
    expect(b.current(t + 10)).toBe('closed');
  });

  it('adopts a newer open state from the fleet, and a newer close', () => {
    const { b, transitions } = breaker();
    const t = 1_000_000;
    expect(b.adopt({ state: 'open', until: t + 3_000, trips: 2, at: t - 10 }, t)).toBe(true);
    expect(b.current(t)).toBe('open');
    expect(b.current(t + 3_000)).toBe('half_open');
    expect(b.adopt({ state: 'open', until: t + 9_000, trips: 2, at: t - 20 }, t)).toBe(false);
    expect(b.adopt({ state: 'closed', until: 0, trips: 0, at: t + 5 }, t + 5)).toBe(true);
    expect(b.current(t + 5)).toBe('closed');
    expect(transitions).toEqual(['open', 'closed']);
  });

  it('does not adopt an open state that has already expired', () => {
    const { b } = breaker();
    const t = 1_000_000;
    expect(b.adopt({ state: 'open', until: t - 1, trips: 1, at: t - 100 }, t)).toBe(false);
    expect(b.current(t)).toBe('closed');
  });

  it('snapshot() reflects the last transition', () => {
    const { b } = breaker();
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) b.onFailure(t, false);
    expect(b.snapshot()).toEqual({ state: 'open', until: t + 1_000, trips: 1, at: t });
  });
});
