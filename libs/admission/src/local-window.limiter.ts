export interface LocalTake {
  readonly ok: boolean;
  /** Amount counted in the window after this call (including this take when ok). */
  readonly used: number;
  /** When refused: milliseconds until enough of the window has left for this amount to fit. */
  readonly waitMs: number;
  /** Milliseconds until the oldest counted bucket leaves the window; 0 when empty. */
  readonly resetMs: number;
  /** The bucket the amount went into, for `adjust`. */
  readonly bucket: number;
}

interface BucketRing {
  readonly stamps: Float64Array;
  readonly amounts: Float64Array;
}

/**
 * The per-instance fallback limiter used while Redis is unavailable (docs/limits-and-budgets.md,
 * Redis outage): a sliding window
 * counted in fixed buckets. It counts the `window/bucket + 1` buckets that overlap the last window,
 * a superset of it, so in any window it admits at most `limit` (it may refuse up to one bucket
 * early, never late). Memory is fixed: one ring of counters per key and at most `maxKeys` keys,
 * least recently used evicted first (an evicted key starts empty again).
 */
export class LocalWindowLimiter {
  private readonly rings = new Map<string, BucketRing>();
  private readonly span: number;

  constructor(
    private readonly windowMs = 60_000,
    private readonly bucketMs = 1_000,
    private readonly maxKeys = 10_000,
  ) {
    this.span = Math.ceil(windowMs / bucketMs) + 1;
  }

  get size(): number {
    return this.rings.size;
  }

  /** Counts `amount` when `used + amount ≤ limit`; otherwise counts nothing. */
  tryTake(key: string, limit: number, amount: number, nowMs: number): LocalTake {
    const ring = this.ring(key);
    const cur = Math.floor(nowMs / this.bucketMs);
    const used = this.sum(ring, cur);
    if (used + amount > limit) {
      return {
        ok: false,
        used,
        waitMs: this.waitFor(ring, cur, used + amount - limit, amount > limit, nowMs),
        resetMs: this.resetMs(ring, cur, nowMs),
        bucket: cur,
      };
    }
    const i = cur % this.span;
    if (ring.stamps[i] !== cur) {
      ring.stamps[i] = cur;
      ring.amounts[i] = 0;
    }
    ring.amounts[i] += amount;
    return {
      ok: true,
      used: used + amount,
      waitMs: 0,
      resetMs: this.resetMs(ring, cur, nowMs),
      bucket: cur,
    };
  }

  /** Corrects an earlier take (settle to actual, or release) while its bucket is still counted. */
  adjust(key: string, bucket: number, delta: number, nowMs: number): void {
    const ring = this.rings.get(key);
    if (!ring) return;
    const cur = Math.floor(nowMs / this.bucketMs);
    const i = bucket % this.span;
    if (bucket < cur - this.span + 1 || ring.stamps[i] !== bucket) return;
    ring.amounts[i] = Math.max(0, ring.amounts[i] + delta);
  }

  /** The window's state without counting anything. */
  peek(key: string, nowMs: number): { used: number; resetMs: number } {
    const ring = this.rings.get(key);
    if (!ring) return { used: 0, resetMs: 0 };
    const cur = Math.floor(nowMs / this.bucketMs);
    return { used: this.sum(ring, cur), resetMs: this.resetMs(ring, cur, nowMs) };
  }

  private ring(key: string): BucketRing {
    let ring = this.rings.get(key);
    if (ring) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      this.rings.delete(key);
    } else {
      ring = { stamps: new Float64Array(this.span).fill(-1), amounts: new Float64Array(this.span) };
      if (this.rings.size >= this.maxKeys) {
        const lru = this.rings.keys().next().value;
        if (lru !== undefined) this.rings.delete(lru);
      }
    }
    this.rings.set(key, ring);
    return ring;
  }

  private sum(ring: BucketRing, cur: number): number {
    let total = 0;
    const oldest = cur - this.span + 1;
    for (let i = 0; i < this.span; i++) {
      const stamp = ring.stamps[i];
      if (stamp >= oldest && stamp <= cur) total += ring.amounts[i];
    }
    return total;
  }

  /** Bucket b is counted while cur ≤ b + span − 1, so it leaves at (b + span) × bucketMs. */
  private waitFor(
    ring: BucketRing,
    cur: number,
    excess: number,
    never: boolean,
    nowMs: number,
  ): number {
    if (never) return this.windowMs;
    let freed = 0;
    for (let b = cur - this.span + 1; b <= cur; b++) {
      const i = b % this.span;
      if (ring.stamps[i] !== b) continue;
      freed += ring.amounts[i];
      if (freed >= excess) return (b + this.span) * this.bucketMs - nowMs;
    }
    return this.windowMs;
  }

  private resetMs(ring: BucketRing, cur: number, nowMs: number): number {
    for (let b = cur - this.span + 1; b <= cur; b++) {
      const i = b % this.span;
      if (ring.stamps[i] === b && ring.amounts[i] > 0)
        return (b + this.span) * this.bucketMs - nowMs;
    }
    return 0;
  }
}
