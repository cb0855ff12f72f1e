import { BoundedTtlCache } from './bounded-ttl-cache';

describe('BoundedTtlCache', () => {
  let now = 1_000;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('serves an entry until ttl after it was read from the source, then forgets it', () => {
    const cache = new BoundedTtlCache<string, number>(10, 800, clock);
    cache.set('a', 1, 900); // read 100 ms ago
    expect(cache.get('a')).toBe(1);
    now = 1_699;
    expect(cache.get('a')).toBe(1);
    now = 1_700;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not store a value already older than the ttl', () => {
    const cache = new BoundedTtlCache<string, number>(10, 800, clock);
    cache.set('a', 1, 100);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never holds more than maxEntries, evicting the least recently used', () => {
    const cache = new BoundedTtlCache<number, number>(3, 1_000, clock);
    cache.set(1, 1);
    cache.set(2, 2);
    cache.set(3, 3);
    expect(cache.get(1)).toBe(1); // 1 is now the most recent
    cache.set(4, 4);
    expect(cache.size).toBe(3);
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get(1)).toBe(1);
    expect(cache.get(3)).toBe(3);
    expect(cache.get(4)).toBe(4);
    for (let i = 0; i < 10_000; i++) cache.set(100 + i, i);
    expect(cache.size).toBe(3);
  });

  it('drops matching entries and everything on demand', () => {
    const cache = new BoundedTtlCache<string, { tenant: string }>(10, 1_000, clock);
    cache.set('k1', { tenant: 'a' });
    cache.set('k2', { tenant: 'a' });
    cache.set('k3', { tenant: 'b' });
    cache.deleteWhere((v) => v.tenant === 'a');
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k2')).toBeUndefined();
    expect(cache.get('k3')).toEqual({ tenant: 'b' });
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('caches nothing with a ttl of 0', () => {
    const cache = new BoundedTtlCache<string, number>(10, 0, clock);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a zero size cap', () => {
    expect(() => new BoundedTtlCache(0, 100)).toThrow(RangeError);
  });
});
