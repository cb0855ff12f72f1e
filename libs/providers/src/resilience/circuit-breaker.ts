export type CircuitState = 'closed' | 'open' | 'half_open';

/** `allow`: call normally; `probe`: call as the half-open trial; `reject`: skip without a call. */
export type CircuitAdmission = 'allow' | 'probe' | 'reject';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** Share of failures in the window that opens it… */
  readonly failureRatio: number;
  /** …once the window holds at least this many outcomes. */
  readonly minRequests: number;
  readonly windowMs: number;
  /** First ejection; each further trip without a stable close doubles it… */
  readonly openMs: number;
  /** …up to this. */
  readonly maxOpenMs: number;
  /** A half-open probe that has not reported after this long frees its slot (a safety net). */
  readonly probeTimeoutMs: number;
}

/** What the fleet shares through Redis: the last transition any instance made. */
export interface CircuitSnapshot {
  readonly state: 'open' | 'closed';
  /** Epoch ms when an open circuit lets a probe through. */
  readonly until: number;
  readonly trips: number;
  /** Epoch ms of the transition; the newer one wins. */
  readonly at: number;
}

export type CircuitListener = (state: CircuitState, origin: 'local' | 'fleet') => void;

const BUCKETS = 10;
/** Closed this long, the provider counts as stable again: the next ejection starts from openMs. */
const STABLE_MS = 60_000;

/**
 * A per-provider circuit breaker: closed → open on `failureThreshold` consecutive failures or a
 * `failureRatio` of the window; open → half_open when the ejection ends (or a health check sees
 * the provider come back); half_open lets one call through as a probe: success closes, failure
 * reopens with a doubled ejection. Outcomes of calls that started before a transition are ignored.
 * A failed health check opens it at once and keeps it open until a check succeeds.
 * Pure and clock-free: every method takes `now` (epoch ms).
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private openUntil = 0;
  private trips = 0;
  private consecutive = 0;
  private closedAt = Number.NEGATIVE_INFINITY;
  private changedAt = 0;
  private probeSince: number | null = null;
  /** The last health check could not reach the provider. */
  private healthDown = false;
  private readonly bucketMs: number;
  private readonly successes = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  private readonly stamps = new Array<number>(BUCKETS).fill(-1);

  constructor(
    private readonly opts: CircuitBreakerOptions,
    private readonly listener: CircuitListener = () => undefined,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(opts.windowMs / BUCKETS));
  }

  /**
   * The state as callers should see it: an open circuit whose ejection ended is half-open, unless
   * the health checks still cannot reach the provider.
   */
  current(now: number): CircuitState {
    return this.state === 'open' && now >= this.openUntil && !this.healthDown
      ? 'half_open'
      : this.state;
  }

  /** Whether a request arriving now could be served (for `/health` and statuses). */
  available(now: number): boolean {
    const state = this.current(now);
    return state === 'closed' || (state === 'half_open' && !this.probeBusy(now));
  }

  tryAcquire(now: number): CircuitAdmission {
    const state = this.current(now);
    if (state === 'closed') return 'allow';
    if (state === 'open') return 'reject';
    if (this.state === 'open') this.transition('half_open', now, 'local');
    if (this.probeBusy(now)) return 'reject';
    this.probeSince = now;
    return 'probe';
  }

  onSuccess(now: number, probe: boolean): void {
    if (probe) {
      this.probeSince = null;
      this.close(now, now, 'local');
      return;
    }
    if (this.state !== 'closed') return;
    this.consecutive = 0;
    this.successes[this.bucket(now)]++;
  }

  onFailure(now: number, probe: boolean): void {
    if (probe) {
      this.probeSince = null;
      this.trip(now);
      return;
    }
    if (this.state !== 'closed') return;
    this.consecutive++;
    this.failures[this.bucket(now)]++;
    if (this.consecutive >= this.opts.failureThreshold || this.ratioExceeded(now)) this.trip(now);
  }

  /** A probe ended without a verdict (the caller gave up): let another request probe. */
  release(probe: boolean): void {
    if (probe) this.probeSince = null;
  }

  /**
   * A health check result. `unreachable` (refused, timed out, 5xx) opens the circuit at once and
   * holds it open (no timer-driven probes with real requests) until a check succeeds; that
   * success lets the next request probe straight away. `other` failures (e.g. a 404 on a
   * misconfigured health path) say nothing about the chat endpoint: traffic decides.
   */
  onHealth(result: 'ok' | 'unreachable' | 'other', now: number): void {
    if (result === 'other') return;
    if (result === 'ok') {
      const wasDown = this.healthDown;
      this.healthDown = false;
      if (wasDown && this.state === 'open') {
        this.openUntil = now;
        this.transition('half_open', now, 'local');
      }
      return;
    }
    this.healthDown = true;
    if (this.state === 'closed' || (this.state === 'half_open' && !this.probeBusy(now))) {
      this.trip(now);
    }
  }

  snapshot(): CircuitSnapshot {
    return {
      state: this.state === 'closed' ? 'closed' : 'open',
      until: this.openUntil,
      trips: this.trips,
      at: this.changedAt,
    };
  }

  /** Takes the fleet's newer view; returns whether anything changed. Never echoed back to Redis. */
  adopt(s: CircuitSnapshot, now: number): boolean {
    if (s.at <= this.changedAt) return false;
    if (s.state === 'open' && s.until > now) {
      this.openUntil = s.until;
      this.trips = Math.max(this.trips, s.trips);
      this.resetCounts();
      this.changedAt = s.at;
      if (this.state !== 'open') this.transition('open', s.at, 'fleet');
      return true;
    }
    if (s.state === 'closed' && this.state !== 'closed') {
      this.close(now, s.at, 'fleet');
      return true;
    }
    this.changedAt = s.at;
    return false;
  }

  private trip(now: number): void {
    if (this.state === 'closed' && now - this.closedAt >= STABLE_MS) this.trips = 0;
    const ejection = Math.min(this.opts.maxOpenMs, this.opts.openMs * 2 ** this.trips);
    this.trips++;
    this.openUntil = now + ejection;
    this.resetCounts();
    this.transition('open', now, 'local');
  }

  private close(now: number, at: number, origin: 'local' | 'fleet'): void {
    this.closedAt = now;
    this.resetCounts();
    this.transition('closed', at, origin);
  }

  private transition(state: CircuitState, at: number, origin: 'local' | 'fleet'): void {
    this.state = state;
    this.changedAt = at;
    this.listener(state, origin);
  }

  private probeBusy(now: number): boolean {
    return this.probeSince !== null && now - this.probeSince < this.opts.probeTimeoutMs;
  }

  private ratioExceeded(now: number): boolean {
    this.bucket(now);
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < BUCKETS; i++) {
      ok += this.successes[i];
      failed += this.failures[i];
    }
    const total = ok + failed;
    return total >= this.opts.minRequests && failed / total >= this.opts.failureRatio;
  }

  private resetCounts(): void {
    this.consecutive = 0;
    this.successes.fill(0);
    this.failures.fill(0);
    this.stamps.fill(-1);
  }

  private bucket(now: number): number {
    const stamp = Math.floor(now / this.bucketMs);
    const i = stamp % BUCKETS;
    if (this.stamps[i] !== stamp) {
      this.stamps[i] = stamp;
      this.successes[i] = 0;
      this.failures[i] = 0;
    }
    for (let j = 0; j < BUCKETS; j++) {
      if (this.stamps[j] !== -1 && stamp - this.stamps[j] >= BUCKETS) {
        this.stamps[j] = -1;
        this.successes[j] = 0;
        this.failures[j] = 0;
      }
    }
    return i;
  }
}
