import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { type RedisClient, RedisService } from '@gateway/redis';
import { LocalThrottlerStorage } from './local-throttler.storage';
import { type ThrottleHit, type ThrottlerStorageRecord, toStorageRecord } from './throttle-hit';

/*
 * A sliding-window log per throttled key, on Redis's clock (TIME: one clock for every replica).
 *   KEYS[1]  ZSET  hit id → time it was counted (ms)
 *   KEYS[2]  STRING present while the key is held refused (only with a block duration)
 *   ARGV     window ms, limit, block ms, hit id
 * A refused hit is not added, so the wait it reports is true: the moment the oldest counted hit
 * leaves the window (or the block ends), a new hit is counted again. Both keys share one hash
 * tag, so the script runs unchanged on Redis Cluster.
 */
const HIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local function leaves()
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #oldest == 0 then return window end
  return tonumber(oldest[2]) + window - now
end
if block > 0 then
  local held = redis.call('PTTL', KEYS[2])
  if held > 0 then return {count + 1, leaves(), held} end
end
if count >= limit then
  if block > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', block)
    return {count + 1, leaves(), block}
  end
  local wait = leaves()
  return {count + 1, wait, wait}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {count + 1, leaves(), 0}
`;
const HIT_SHA = createHash('sha1').update(HIT_LUA).digest('hex');

/**
 * `@nestjs/throttler`'s storage on Redis, so every replica counts the same hits. While Redis
 * cannot be reached (its circuit is open, or a command fails), hits are counted in this process
 * instead (LocalThrottlerStorage): each replica then enforces the limit on its own, so a client
 * spread over N replicas gets at most N times the limit, and nothing is refused for Redis being
 * down. Counts do not move between the two: when Redis returns, it counts from what it had.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttle');
  readonly local = new LocalThrottlerStorage();
  private seq = 0;
  private readonly instance = Math.random().toString(36).slice(2, 10);

  constructor(private readonly redis: RedisService) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    return toStorageRecord(await this.hit(key, ttl, limit, blockDuration, this.nextId()));
  }

  /** A unique id for one hit, for `hit` and a later `release`. */
  nextId(): string {
    return `${this.instance}:${++this.seq}`;
  }

  /** Counts one hit of `key` (unless refused); never rejects. */
  async hit(
    key: string,
    windowMs: number,
    limit: number,
    blockMs: number,
    id: string,
  ): Promise<ThrottleHit> {
    const [log, held] = this.keysOf(key);
    try {
      const reply = (await this.redis.execute((c) =>
        evalHit(c, [log, held], [windowMs, limit, blockMs, id]),
      )) as [number, number, number];
      return { totalHits: reply[0], timeToExpireMs: reply[1], blockedMs: reply[2] };
    } catch (err) {
      this.logger.debug(
        { err: err instanceof Error ? err.message : String(err) },
        'counted locally',
      );
      return this.local.hit(key, windowMs, limit, blockMs, id);
    }
  }

  /** Takes back a counted hit; best effort (a lost release only makes the count stricter). */
  release(key: string, id: string): void {
    this.local.release(key, id);
    const [log] = this.keysOf(key);
    this.redis.execute((c) => c.zrem(log, id)).catch(() => undefined);
  }

  private keysOf(key: string): [string, string] {
    const base = this.redis.keys.global('throttle', `{${key}}`);
    return [base, `${base}:held`];
  }
}

async function evalHit(
  client: RedisClient,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  try {
    return await client.evalsha(HIT_SHA, keys.length, ...keys, ...args);
  } catch (err) {
    // After a Redis restart its script cache is empty: send the source once, it is cached again.
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return client.eval(HIT_LUA, keys.length, ...keys, ...args);
    }
    throw err;
  }
}
