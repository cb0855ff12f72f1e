import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { GatewayConfigService } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { RedisThrottlerStorage } from '@gateway/tenancy';
import { startRedisServer, type RedisServer } from '../support/redis-server';

/**
 * The failed-authentication throttle's storage on a real Redis: one sliding window shared by
 * every replica, a true wait, and counting in process when Redis is gone.
 */

const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function redisService(url: string, keyPrefix: string): RedisService {
  const config = {
    config: { redis: { url, clusterNodes: [], keyPrefix, commandTimeoutMs: 500 } },
  } as unknown as GatewayConfigService;
  return new RedisService(config);
}

async function ready(redis: RedisService): Promise<void> {
  const start = Date.now();
  while (redis.client.status !== 'ready') {
    if (Date.now() - start > 5_000) throw new Error('redis not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RedisThrottlerStorage (integration)', () => {
  const prefix = `t${randomBytes(5).toString('hex')}:`;
  let a: RedisService;
  let b: RedisService;

  beforeAll(async () => {
    Logger.overrideLogger(false); // a killed Redis is expected here, not news
    a = redisService(SHARED_REDIS_URL, prefix);
    b = redisService(SHARED_REDIS_URL, prefix);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    const keys = await a.client.keys(`${prefix}*`);
    if (keys.length > 0) await a.client.del(...keys);
    await Promise.all([a.onModuleDestroy(), b.onModuleDestroy()]);
  });

  it('shares one sliding window between replicas and reports a true wait', async () => {
    const one = new RedisThrottlerStorage(a);
    const two = new RedisThrottlerStorage(b);
    expect((await one.hit('k1', 1_000, 3, 0, one.nextId())).blockedMs).toBe(0);
    expect((await two.hit('k1', 1_000, 3, 0, two.nextId())).blockedMs).toBe(0);
    expect(await one.hit('k1', 1_000, 3, 0, one.nextId())).toMatchObject({
      totalHits: 3,
      blockedMs: 0,
    });
    const refused = await two.hit('k1', 1_000, 3, 0, two.nextId());
    expect(refused.blockedMs).toBeGreaterThan(0);
    expect(refused.blockedMs).toBeLessThanOrEqual(1_000);
    // Refused hits are not counted: trying again does not push the wait further out.
    const again = await one.hit('k1', 1_000, 3, 0, one.nextId());
    expect(again.blockedMs).toBeLessThanOrEqual(refused.blockedMs);
    await new Promise((r) => setTimeout(r, again.blockedMs + 5));
    expect((await two.hit('k1', 1_000, 3, 0, two.nextId())).blockedMs).toBe(0);
    expect(one.local.size).toBe(0); // everything was counted on Redis
  });

  it('takes a released hit back on every replica', async () => {
    const one = new RedisThrottlerStorage(a);
    const two = new RedisThrottlerStorage(b);
    const id = one.nextId();
    await one.hit('k2', 10_000, 2, 0, id);
    await two.hit('k2', 10_000, 2, 0, two.nextId());
    one.release('k2', id);
    await new Promise((r) => setTimeout(r, 50)); // the release is not awaited by design
    expect((await two.hit('k2', 10_000, 2, 0, two.nextId())).blockedMs).toBe(0);
    expect((await two.hit('k2', 10_000, 2, 0, two.nextId())).blockedMs).toBeGreaterThan(0);
  });

  it('answers the @nestjs/throttler storage contract, block duration included', async () => {
    const s = new RedisThrottlerStorage(a);
    expect(await s.increment('k3', 60_000, 1, 2_000)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await s.increment('k3', 60_000, 1, 2_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 2,
    });
    const held = await s.increment('k3', 60_000, 1, 2_000);
    expect(held.isBlocked).toBe(true);
    expect(held.timeToExpire).toBeGreaterThanOrEqual(59);
  });

  describe('when Redis is gone', () => {
    let server: RedisServer;
    let redis: RedisService;
    beforeAll(async () => {
      server = await startRedisServer();
      redis = redisService(server.url, prefix);
      await ready(redis);
    });
    afterAll(async () => {
      await redis.onModuleDestroy();
      await server.stop();
    });

    it('counts in process instead, never rejecting', async () => {
      const s = new RedisThrottlerStorage(redis);
      await s.hit('k4', 60_000, 2, 0, s.nextId());
      await server.kill();
      expect((await s.hit('k4', 60_000, 2, 0, s.nextId())).blockedMs).toBe(0);
      expect((await s.hit('k4', 60_000, 2, 0, s.nextId())).blockedMs).toBe(0);
      expect((await s.hit('k4', 60_000, 2, 0, s.nextId())).blockedMs).toBeGreaterThan(0);
      expect(s.local.size).toBe(1);
    });
  });
});
