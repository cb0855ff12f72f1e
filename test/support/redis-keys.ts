import Redis from 'ioredis';
import { redisUrlWithoutDatabase } from '@gateway/config';

/** The shared Redis every test uses through its own key prefix (never FLUSHALL it). */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every key under `prefix` (SCAN: never KEYS on a shared Redis). */
export async function keysOf(r: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Every key under `prefix` in logical database `db` of the shared Redis. */
export async function keysIn(db: number, prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrlWithoutDatabase(SHARED_REDIS_URL), {
    db,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  await redis.connect();
  try {
    return await keysOf(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Removes every key of the test's prefix from the databases it may use (never FLUSHALL). */
export async function dropPrefix(prefix: string, dbs: number[] = [0, 1]): Promise<void> {
  for (const db of dbs) {
    const r = new Redis(SHARED_REDIS_URL, { db, maxRetriesPerRequest: 1 });
    try {
      for (const k of await keysOf(r, prefix)) await r.del(k);
    } finally {
      r.disconnect();
    }
  }
}
