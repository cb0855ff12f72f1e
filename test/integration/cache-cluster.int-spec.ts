import type { CachedAnswer, CacheControls } from '@gateway/cache';
import {
  answer,
  type CacheInstance,
  chat,
  sleep,
  startCache,
  tenant,
  uniquePrefix,
} from '../support/cache';
// A throwaway 3-master Redis Cluster of this test's own (ports whose cluster bus is free too).
import { type RedisCluster, startRedisCluster } from '../support/redis-server';

const DEFAULT: CacheControls = { lookup: true, store: true };

describe('response cache on Redis Cluster', () => {
  let cluster: RedisCluster;
  let a: CacheInstance;
  let b: CacheInstance;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const prefix = uniquePrefix('cluster');
    const env = { REDIS_CLUSTER_NODES: cluster.nodes, CACHE_COALESCE_WAIT_MS: '8000' };
    [a, b] = await Promise.all([startCache(prefix, env), startCache(prefix, env)]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.stop();
  });

  it('stores, hits and isolates tenants across slots', async () => {
    for (let i = 0; i < 5; i++) {
      const t = tenant();
      const key = a.cache.key(t, 'gpt-4o-mini', chat());
      expect((await a.lookup(t, key, DEFAULT)).status).toBe('miss');
      await a.coalesce(t, key, DEFAULT, () => Promise.resolve(answer(`for tenant ${i}`)));
      const hit = await b.lookup(t, b.cache.key(t, 'gpt-4o-mini', chat()), DEFAULT);
      expect(hit.status === 'hit' && hit.answer.content).toBe(`for tenant ${i}`);
      const other = tenant();
      expect(
        (await b.lookup(other, b.cache.key(other, 'gpt-4o-mini', chat()), DEFAULT)).status,
      ).toBe('miss');
    }
  });

  it('coalesces identical requests across instances', async () => {
    const t = tenant();
    let calls = 0;
    const compute = async (): Promise<CachedAnswer> => {
      calls++;
      await sleep(300);
      return answer('once');
    };
    const out = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const inst = i % 2 === 0 ? a : b;
        const key = inst.cache.key(t, 'gpt-4o-mini', chat({ seed: 1 }));
        return (await inst.coalesce(t, key, DEFAULT, compute)).answer;
      }),
    );
    expect(calls).toBe(1);
    for (const o of out) expect(o).toEqual(answer('once'));
  });

  it('a tenant flush is immediate; a flush-all reaches the other instance through its mirror', async () => {
    const t = tenant();
    const key = a.cache.key(t, 'gpt-4o-mini', chat({ seed: 2 }));
    await a.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('x')));
    await a.cache.flushTenant(t.tenantId);
    expect((await b.lookup(t, key, DEFAULT)).status).toBe('miss');

    await a.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('y')));
    expect((await b.lookup(t, key, DEFAULT)).status).toBe('hit');
    await a.cache.flushAll();
    expect((await a.lookup(t, key, DEFAULT)).status).toBe('miss');
    // Other instances learn of it by pub/sub (re-read every 5 s as a safety net).
    const started = Date.now();
    let status = (await b.lookup(t, key, DEFAULT)).status;
    while (status === 'hit' && Date.now() - started < 1_000) {
      await sleep(10);
      status = (await b.lookup(t, key, DEFAULT)).status;
    }
    expect(status).toBe('miss');
  });
});
