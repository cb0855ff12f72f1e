const BUCKETS = 10;

/**
 * Caps retries to a fraction of first attempts over a sliding window (Envoy's and Finagle's retry
 * budget): during an outage each request still gets its first try, but retries add at most
 * `ratio` extra load (never fewer than `minRetries` per window, so a quiet provider can still
 * retry). Fixed memory: a ring of per-bucket counters.
 */
export class RetryBudget {
  private readonly bucketMs: number;
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly retries = new Array<number>(BUCKETS).fill(0);
  private readonly stamps = new Array<number>(BUCKETS).fill(-1);

  constructor(
    private readonly ratio = 0.2,
    private readonly minRetries = 3,
    windowMs = 10_000,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  /** A first attempt (not a retry) was made. */
  recordRequest(now: number): void {
    this.requests[this.bucket(now)]++;
  }

  /** Takes one retry from the budget if there is one left in the window. */
  tryRetry(now: number): boolean {
    this.bucket(now);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.requests[i];
      retries += this.retries[i];
    }
    if (retries >= Math.max(this.minRetries, Math.floor(requests * this.ratio))) return false;
    this.retries[this.bucket(now)]++;
    return true;
  }

  /** The current bucket's index, clearing any bucket whose time has passed out of the window. */
  private bucket(now: number): number {
    const stamp = Math.floor(now / this.bucketMs);
    const i = stamp % BUCKETS;
    if (this.stamps[i] !== stamp) {
      this.stamps[i] = stamp;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    // Buckets not touched for a whole window still hold old counts: clear them lazily.
    for (let j = 0; j < BUCKETS; j++) {
      if (this.stamps[j] !== -1 && stamp - this.stamps[j] >= BUCKETS) {
        this.stamps[j] = -1;
        this.requests[j] = 0;
        this.retries[j] = 0;
      }
    }
    return i;
  }
}
