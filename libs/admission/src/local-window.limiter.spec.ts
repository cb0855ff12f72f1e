import { LocalWindowLimiter } from './local-window.limiter';

describe('LocalWindowLimiter', () => {
  const t0 = 1_700_000_000_000; // a bucket boundary

  it('admits up to the limit and refuses the next with the wait until a bucket leaves', () => {
    const l = new LocalWindowLimiter(60_000, 1_000, 100);
    for (let i = 0; i < 5; i++) expect(l.tryTake('a', 5, 1, t0 + 10).ok).toBe(true);
    const refused = l.tryTake('a', 5, 1, t0 + 500);
    expect(refused.ok).toBe(false);
    expect(refused.used).toBe(5);
    // The bucket of t0 is counted until t0 + 61 s (61 buckets overlap a 60 s window).
    expect(refused.waitMs).toBe(61_000 - 500);
    expect(l.tryTake('a', 5, 1, t0 + 60_999).ok).toBe(false);
    expect(l.tryTake('a', 5, 1, t0 + 61_000).ok).toBe(true);
  });

  it('never admits more than the limit in any 60 s window (random arrivals)', () => {
    const l = new LocalWindowLimiter(60_000, 1_000, 100);
    const admitted: number[] = [];
    let now = t0;
    for (let i = 0; i < 5_000; i++) {
      now += Math.floor(Math.random() * 200);
      if (l.tryTake('k', 20, 1, now).ok) admitted.push(now);
    }
    for (let i = 0; i < admitted.length; i++) {
      const inWindow = admitted.filter((a) => a > admitted[i] - 60_000 && a <= admitted[i]).length;
      expect(inWindow).toBeLessThanOrEqual(20);
    }
    expect(admitted.length).toBeGreaterThan(20);
  });

  it('adjusts an earlier take while its bucket is counted', () => {
    const l = new LocalWindowLimiter(60_000, 1_000, 100);
    const take = l.tryTake('t', 1_000, 800, t0);
    expect(take.ok).toBe(true);
    expect(l.tryTake('t', 1_000, 300, t0 + 1).ok).toBe(false);
    l.adjust('t', take.bucket, -700, t0 + 2);
    expect(l.peek('t', t0 + 3).used).toBe(100);
    expect(l.tryTake('t', 1_000, 300, t0 + 4).ok).toBe(true);
  });

  it('refuses an amount larger than the limit with a full-window wait', () => {
    const l = new LocalWindowLimiter(60_000, 1_000, 100);
    const r = l.tryTake('x', 10, 11, t0);
    expect(r.ok).toBe(false);
    expect(r.waitMs).toBe(60_000);
  });

  it('keeps at most maxKeys windows, evicting the least recently used', () => {
    const l = new LocalWindowLimiter(60_000, 1_000, 3);
    for (const k of ['a', 'b', 'c']) l.tryTake(k, 1, 1, t0);
    l.tryTake('a', 1, 1, t0); // touch a
    l.tryTake('d', 1, 1, t0); // evicts b
    expect(l.size).toBe(3);
    expect(l.peek('b', t0).used).toBe(0);
    expect(l.peek('a', t0).used).toBe(1);
  });
});
