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
} from '../support/cache';

const PREFIX = uniquePrefix('coalesce');
const DEFAULT: CacheControls = { lookup: true, store: true };

describe('request coalescing across instances (real Redis)', () => {
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    // Two instances, each with its own Redis connections, sharing only Redis.
    [a, b] = await Promise.all([
      // Lease = wait / 4 = 2 s: a dead leader is noticed within ~2 s, a live one is waited for.
      startCache(PREFIX, { CACHE_COALESCE_WAIT_MS: '8000' }),
      startCache(PREFIX, { CACHE_COALESCE_WAIT_MS: '8000' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPrefix(PREFIX);
  });

  /** What the pipeline does for one request: one lookup that leads, joins or hits. */
  function request(
    inst: CacheInstance,
    t: TenantContext,
    seed: number,
    compute: () => Promise<CachedAnswer>,
    controls: CacheControls = DEFAULT,
  ): Promise<{ answer: CachedAnswer; leader: boolean; hit: boolean }> {
    return inst.coalesce(t, inst.cache.key(t, 'gpt-4o-mini', chat({ seed })), controls, compute);
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

  it('a leader slower than its lease keeps it: waiters still share its answer', async () => {
    const t = tenant();
    let calls = 0;
    const compute = async () => {
      calls++;
      await sleep(2_600); // longer than the 2 s lease: only the heartbeat keeps the lock
      return answer('slow but alive');
    };
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => request(i % 2 === 0 ? a : b, t, 8, compute)),
    );
    expect(calls).toBe(1);
    for (const r of results) expect(r.answer).toEqual(answer('slow but alive'));
  });

  it('waiters notice a crashed leader within one lease and call the provider themselves', async () => {
    const t = tenant();
    const doomed = await startCache(PREFIX, { CACHE_COALESCE_WAIT_MS: '8000' });
    const key = doomed.cache.key(t, 'gpt-4o-mini', chat({ seed: 3 }));
    // Its provider call never ends, then its instance goes away (no release, no more renewals).
    void doomed.coalesce(t, key, DEFAULT, () => new Promise<CachedAnswer>(() => undefined));
    await sleep(50);
    const started = Date.now();
    let calls = 0;
    const waiting = request(b, t, 3, () => {
      calls++;
      return Promise.resolve(answer('after the crash'));
    });
    await sleep(100);
    await doomed.close();
    const out = await waiting;
    expect(calls).toBe(1);
    expect(out).toMatchObject({ leader: true, answer: answer('after the crash') });
    // Within the 2 s lease plus a poll interval, far below the 8 s wait limit.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('waiters give up on a live leader after CACHE_COALESCE_WAIT_MS', async () => {
    const prefix = `${PREFIX}short:`;
    const [x, y] = await Promise.all([
      startCache(prefix, { CACHE_COALESCE_WAIT_MS: '1000' }),
      startCache(prefix, { CACHE_COALESCE_WAIT_MS: '1000' }),
    ]);
    try {
      const t = tenant();
      const key = x.cache.key(t, 'gpt-4o-mini', chat({ seed: 9 }));
      let release!: () => void;
      const stuck = x.coalesce(
        t,
        key,
        DEFAULT,
        () => new Promise<CachedAnswer>((r) => (release = () => r(answer('late')))),
      );
      await sleep(50);
      const started = Date.now();
      const out = await y.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('own')));
      const waited = Date.now() - started;
      expect(out).toEqual({ answer: answer('own'), leader: true, hit: false });
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(1_500);
      release();
      await stuck;
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('a leader refused before its call (abandoned) lets its waiters go at once', async () => {
    const t = tenant();
    const key = a.cache.key(t, 'gpt-4o-mini', chat({ seed: 12 }));
    const leader = await a.cache.open(t, key, DEFAULT);
    expect(leader.status).toBe('miss');
    const follower = await b.cache.open(t, key, DEFAULT);
    if (leader.status === 'hit' || follower.status === 'hit') throw new Error('unexpected hit');
    const started = Date.now();
    const waiting = follower.fill.run(() => Promise.resolve(answer('own call')));
    await sleep(50);
    await leader.fill.abandon(); // e.g. its admission answered 429 or 402
    const out = await waiting;
    expect(out).toMatchObject({ leader: true, answer: answer('own call') });
    // Told by the release, not by the 2 s lease running out.
    expect(Date.now() - started).toBeLessThan(500);
    await out.stored;
    // A fill is used once: after abandon, run refuses, and abandon again is a no-op.
    await expect(leader.fill.run(() => Promise.resolve(answer('x')))).rejects.toThrow(
      /once|already/,
    );
    await expect(leader.fill.abandon()).resolves.toBeUndefined();
    expect((await a.lookup(t, key, DEFAULT)).status).toBe('hit');
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
