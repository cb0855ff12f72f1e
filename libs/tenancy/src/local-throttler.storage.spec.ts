import { LocalThrottlerStorage } from './local-throttler.storage';

describe('LocalThrottlerStorage', () => {
  let now = 1_000_000;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('counts a sliding window and does not count refused hits', () => {
    const s = new LocalThrottlerStorage(100, clock);
    for (let i = 0; i < 3; i++) {
      now += 100;
      expect(s.hit('a', 1_000, 3, 0, `h${i}`).blockedMs).toBe(0);
    }
    now = 1_000_500;
    // Refused until the first hit (at 1_000_100) leaves the window, however often it is tried.
    for (let i = 0; i < 5; i++) expect(s.hit('a', 1_000, 3, 0, `r${i}`).blockedMs).toBe(600);
    now = 1_001_100;
    expect(s.hit('a', 1_000, 3, 0, 'h3')).toMatchObject({ totalHits: 3, blockedMs: 0 });
    expect(s.hit('a', 1_000, 3, 0, 'h4').blockedMs).toBe(100);
    expect(s.hit('b', 1_000, 3, 0, 'b0').blockedMs).toBe(0);
  });

  it('holds a key refused for the block duration when one is given', () => {
    const s = new LocalThrottlerStorage(100, clock);
    expect(s.hit('a', 1_000, 1, 5_000, 'h0').blockedMs).toBe(0);
    expect(s.hit('a', 1_000, 1, 5_000, 'h1').blockedMs).toBe(5_000);
    now += 4_000; // the window is long gone, the block is not
    expect(s.hit('a', 1_000, 1, 5_000, 'h2').blockedMs).toBe(1_000);
    now += 1_000;
    expect(s.hit('a', 1_000, 1, 5_000, 'h3').blockedMs).toBe(0);
  });

  it('gives back a released hit', () => {
    const s = new LocalThrottlerStorage(100, clock);
    s.hit('a', 1_000, 2, 0, 'h0');
    s.hit('a', 1_000, 2, 0, 'h1');
    s.release('a', 'h0');
    s.release('a', 'unknown-id');
    expect(s.hit('a', 1_000, 2, 0, 'h2').blockedMs).toBe(0);
    expect(s.hit('a', 1_000, 2, 0, 'h3').blockedMs).toBeGreaterThan(0);
  });

  it('tracks at most maxKeys keys, forgetting the least recently hit', () => {
    const s = new LocalThrottlerStorage(3, clock);
    for (const k of ['a', 'b', 'c', 'a', 'd']) s.hit(k, 1_000, 1, 0, k);
    expect(s.size).toBe(3);
    // 'b' was forgotten (so it counts afresh); 'a' was kept (so it is still at its limit).
    expect(s.hit('b', 1_000, 1, 0, 'b2').blockedMs).toBe(0);
    expect(s.hit('a', 1_000, 1, 0, 'a3').blockedMs).toBeGreaterThan(0);
  });

  it('answers the throttler storage interface in seconds', async () => {
    const s = new LocalThrottlerStorage(100, clock);
    expect(await s.increment('k', 1_500, 1, 0)).toEqual({
      totalHits: 1,
      timeToExpire: 2,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await s.increment('k', 1_500, 1, 0)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 2,
    });
  });
});
