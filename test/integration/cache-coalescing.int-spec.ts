import type { CachedAnswer, CacheControls } from '@gateway/cache';
import type { TenantContext } from '@gateway/context';
import {
  answer,
  type CacheInstance,
  chat,
  dropPrefix,
  sleep,
  startCache,
  tenant,
  uniquePrefix,
} from './cache.harness';

const PREFIX = uniquePrefix('coalesce');
const DEFAULT: CacheControls = { lookup: true, store: true };

describe('request coalescing across instances (real Redis)', () => {
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    // Two instances, each with its own Redis connections, sharing only Redis.
    [a, b] = await Promise.all([
      startCache(PREFIX, { CACHE_COALESCE_WAIT_MS: '3000' }),
      startCache(PREFIX, { CACHE_COALESCE_WAIT_MS: '3000' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPrefix(PREFIX);
  });

  /** What the pipeline does for one request: lookup, then coalesce on a miss. */
  async function request(
    inst: CacheInstance,
    t: TenantContext,
    seed: number,
    compute: () => Promise<CachedAnswer>,
    controls: CacheControls = DEFAULT,
  ): Promise<{ answer: CachedAnswer; leader: boolean; hit: boolean }> {
    const key = inst.cache.key(t, 'gpt-4o-mini', chat({ seed }));
    const found = await inst.cache.lookup(t, key, controls);
    if (found.status === 'hit') return { answer: found.answer, leader: false, hit: true };
    return { ...(await inst.cache.coalesce(t, key, controls, compute)), hit: false };
  }

  it('20 identical concurrent requests over 2 instances reach the provider once', async () => {
    const t = tenant();
    let calls = 0;
    const compute = async () => {
      calls++;
      await sleep(300);
      return answer(`the one answer #${calls}`);
    };
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(i % 2 === 0 ? a : b, t, 1, compute)),
    );
    const elapsed = Date.now() - started;
    expect(calls).toBe(1);
    expect(results).toHaveLength(20);
    for (const r of results) expect(r.answer).toEqual(answer('the one answer #1'));
    expect(results.filter((r) => r.leader)).toHaveLength(1);
    // Followers are woken by the leader's message, not by their polling interval or the timeout.
    expect(elapsed).toBeLessThan(1_000);
    // And the answer is now cached for both instances.
    expect((await request(b, t, 1, compute)).hit).toBe(true);
    expect(calls).toBe(1);
  });

  it('when the leader fails, the waiters call the provider themselves and nothing bad is cached', async () => {
    const t = tenant();
    let calls = 0;
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        request(i % 2 === 0 ? a : b, t, 2, async () => {
          const n = ++calls;
          await sleep(150);
          if (n === 1) throw new Error('upstream 500');
          return answer('recovered');
        }),
      ),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(5);
    for (const r of ok) expect(r.value.answer.content).toBe('recovered');
    // The leader and then each of the 5 waiters; well under the 3 s wait, because the leader's
    // failure was announced rather than timed out.
    expect(calls).toBe(6);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await request(a, t, 2, () => Promise.reject(new Error('not called')))).hit).toBe(true);
  });

  it("waiters are woken by the leader's message, not by their polling", async () => {
    const t = tenant();
    let leaderDoneAt = 0;
    const compute = async () => {
      // Ends between two 200 ms polls, so polling alone would add ~150 ms to every waiter.
      await sleep(250);
      leaderDoneAt = Date.now();
      return answer('woken');
    };
    const doneAt = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(i % 2 === 0 ? a : b, t, 7, compute).then(() => Date.now()),
      ),
    );
    const lag = Math.max(...doneAt) - leaderDoneAt;
    expect(lag).toBeLessThan(100);
  });

  it('waiters fall back to their own call when the leader vanishes (lock expiry)', async () => {
    const t = tenant();
    // A leader that never finishes, as if its instance had crashed mid-call.
    const key = a.cache.key(t, 'gpt-4o-mini', chat({ seed: 3 }));
    void a.cache.coalesce(t, key, DEFAULT, () => new Promise<CachedAnswer>(() => undefined));
    await sleep(50);
    const started = Date.now();
    let calls = 0;
    const out = await request(b, t, 3, () => {
      calls++;
      return Promise.resolve(answer('after the crash'));
    });
    expect(calls).toBe(1);
    expect(out).toMatchObject({ leader: true, answer: answer('after the crash') });
    // Bounded by CACHE_COALESCE_WAIT_MS (3 s) plus at most one poll interval.
    expect(Date.now() - started).toBeLessThan(3_500);
  });

  it('a no-cache request does not wait for one in flight', async () => {
    const t = tenant();
    let calls = 0;
    const slow = async () => {
      calls++;
      await sleep(300);
      return answer(`answer ${calls}`);
    };
    const first = request(a, t, 4, slow);
    await sleep(30);
    const started = Date.now();
    const fresh = await request(b, t, 4, slow, b.cache.controls('no-cache'));
    expect(fresh.leader).toBe(true);
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await first;
  });

  it('no-store requests are never coalesced nor stored', async () => {
    const t = tenant();
    let calls = 0;
    const compute = async () => {
      calls++;
      await sleep(100);
      return answer('private');
    };
    const noStore = a.cache.controls('no-store');
    const out = await Promise.all([
      request(a, t, 5, compute, noStore),
      request(b, t, 5, compute, noStore),
    ]);
    expect(calls).toBe(2);
    expect(out.every((o) => o.leader)).toBe(true);
    expect((await request(a, t, 5, compute)).hit).toBe(false);
  });

  it('identical requests of different tenants are not coalesced', async () => {
    let calls = 0;
    const compute = async () => {
      calls++;
      await sleep(100);
      return answer('per tenant');
    };
    await Promise.all([request(a, tenant(), 6, compute), request(b, tenant(), 6, compute)]);
    expect(calls).toBe(2);
  });
});
