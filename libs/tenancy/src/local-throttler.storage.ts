import type { ThrottlerStorage } from '@nestjs/throttler';
import { type ThrottleHit, type ThrottlerStorageRecord, toStorageRecord } from './throttle-hit';

interface Entry {
  /** Times of the counted hits, oldest first, with their ids (for `release`). */
  readonly at: number[];
  readonly ids: string[];
  blockedUntil: number;
}

/** Most keys tracked at once; beyond it the least recently hit are forgotten. */
export const LOCAL_THROTTLE_MAX_KEYS = 10_000;

/**
 * The same sliding-window log as RedisThrottlerStorage, in process memory: what each replica
 * counts on its own while Redis cannot be reached. A refused hit is not counted, so a client
 * hammering at the limit does not extend its own wait; `blockDuration` > 0 additionally holds the
 * key refused for that long once the limit is passed.
 */
export class LocalThrottlerStorage implements ThrottlerStorage {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;

  constructor(
    private readonly maxKeys = LOCAL_THROTTLE_MAX_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(
      toStorageRecord(this.hit(key, ttl, limit, blockDuration, `l${++this.seq}`)),
    );
  }

  hit(key: string, ttlMs: number, limit: number, blockMs: number, id: string): ThrottleHit {
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { at: [], ids: [], blockedUntil: 0 };
    } else {
      this.entries.delete(key); // re-inserted below: Map order is the LRU order
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.maxKeys) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    let expired = 0;
    while (expired < entry.at.length && entry.at[expired] <= now - ttlMs) expired++;
    entry.at.splice(0, expired);
    entry.ids.splice(0, expired);
    const count = entry.at.length;
    const oldestLeavesIn = count > 0 ? entry.at[0] + ttlMs - now : ttlMs;
    if (entry.blockedUntil > now) {
      return {
        totalHits: count + 1,
        timeToExpireMs: oldestLeavesIn,
        blockedMs: entry.blockedUntil - now,
      };
    }
    if (count >= limit) {
      if (blockMs > 0) entry.blockedUntil = now + blockMs;
      return {
        totalHits: count + 1,
        timeToExpireMs: oldestLeavesIn,
        blockedMs: blockMs > 0 ? blockMs : oldestLeavesIn,
      };
    }
    entry.at.push(now);
    entry.ids.push(id);
    return { totalHits: count + 1, timeToExpireMs: entry.at[0] + ttlMs - now, blockedMs: 0 };
  }

  /** Takes back a counted hit (a lookup that turned out to be a valid key). */
  release(key: string, id: string): void {
    const entry = this.entries.get(key);
    const i = entry?.ids.indexOf(id) ?? -1;
    if (entry === undefined || i < 0) return;
    entry.at.splice(i, 1);
    entry.ids.splice(i, 1);
  }
}
