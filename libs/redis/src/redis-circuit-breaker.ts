import type { Logger } from '@nestjs/common';
import { eventLoopLag } from './event-loop-lag';
import { COMMAND_TIMED_OUT, lagAwareTimeout } from './lag-aware-timeout';
import { RedisUnavailableError } from './redis-unavailable.error';

export interface RedisCircuitBreakerOptions {
  /** Consecutive availability failures that open the circuit. */
  readonly failureThreshold: number;
  /** While open, how often a PING checks whether Redis is back. */
  readonly probeIntervalMs: number;
  /**
   * The deadline of each command run through `execute` and of each probe; none when absent (the
   * client's own timeout applies). A command past it fails only when Redis has been silent, see
   * `silenceMs`; otherwise it is late and keeps waiting, up to `lateLimitMs`.
   */
  readonly commandTimeoutMs?: number;
  /**
   * A command past its deadline fails when Redis has answered nothing at all (to any command on
   * this connection) for this long while the command was outstanding. Default: 2 × the deadline.
   */
  readonly silenceMs?: number;
  /**
   * The longest a late command waits while Redis keeps answering others; past it the command
   * fails without counting against the circuit (Redis is alive, only slow). Default: 10 × the
   * deadline, at least 1 s.
   */
  readonly lateLimitMs?: number;
  /**
   * Recent event-loop lag (ms), added to the silence window: see EventLoopLag. Default: this
   * process's monitor.
   */
  readonly recentLagMs?: () => number;
}

export type RedisAvailabilityListener = (available: boolean) => void;

/*
 * Error replies that mean "this server cannot serve now", not "your command is wrong". Redis
 * rejected the command, so it did not run.
 */
const UNAVAILABLE_REPLIES = new Set([
  'LOADING',
  'BUSY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MASTERDOWN',
  'NOREPLICAS',
  'READONLY',
]);

/** Messages of ioredis errors raised before the command was written to any socket. */
const NEVER_SENT = ["Stream isn't writeable", "Cluster isn't ready"];

/**
 * Classifies a failed Redis call: a RedisUnavailableError when the failure is about Redis being
 * unreachable, slow or not serving (fall back), null when it is about the command (a bug: rethrow).
 */
export function toRedisUnavailable(err: unknown): RedisUnavailableError | null {
  if (err instanceof RedisUnavailableError) return err;
  if (!(err instanceof Error)) return new RedisUnavailableError(String(err), true);
  if (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError
  ) {
    return null;
  }
  if (err.name === 'ReplyError') {
    const code = err.message.split(' ', 1)[0];
    return UNAVAILABLE_REPLIES.has(code)
      ? new RedisUnavailableError(err.message, false, { cause: err })
      : null;
  }
  const neverSent = NEVER_SENT.some((m) => err.message.startsWith(m));
  return new RedisUnavailableError(err.message, !neverSent, { cause: err });
}

/** Why a command past its deadline gave up. */
type Verdict = 'silent' | 'too-late';

interface Waiter {
  readonly fail: (verdict: Verdict) => void;
}

/**
 * A circuit breaker around one Redis connection, so an outage costs callers one timeout, not one
 * per command (docs/limits-and-budgets.md, Redis outage). Closed: commands run, and a run of
 * `failureThreshold` availability failures opens it. Open: commands fail at once without touching
 * the socket, so a dead or frozen Redis costs callers nothing; a background PING every
 * `probeIntervalMs` closes it again as soon as Redis answers. Listeners hear every change.
 *
 * A late reply is not a failure. A command past its deadline fails (and counts) only when Redis
 * has been silent — no reply to any command — for `silenceMs` while it was outstanding: that is
 * what a frozen, dead or unreachable Redis looks like. The silence window widens by the recent
 * event-loop lag of this process (EventLoopLag): on an oversubscribed machine Redis is starved
 * of CPU too, and a few hundred milliseconds of silence do not mean it is gone. A Redis that keeps answering, only slowly
 * (its own CPU starved, or this gateway's event loop reading replies late under load), is alive:
 * its late commands keep waiting for their replies, up to `lateLimitMs`, and never open the
 * circuit. Every timer verdict is lag-aware (lagAwareTimeout explains why).
 */
export class RedisCircuitBreaker {
  private open = false;
  private failures = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  /** When Redis last answered anything through this breaker (performance.now()). */
  private lastReplyAt = -Infinity;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<RedisAvailabilityListener>();
  private readonly silenceMs: number;
  private readonly lateLimitMs: number;
  private readonly recentLagMs: () => number;

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly options: RedisCircuitBreakerOptions,
    private readonly logger: Logger,
  ) {
    const timeout = options.commandTimeoutMs ?? 0;
    this.silenceMs = options.silenceMs ?? 2 * timeout;
    this.lateLimitMs = Math.max(options.lateLimitMs ?? Math.max(1_000, 10 * timeout), timeout);
    const lag = eventLoopLag();
    this.recentLagMs = options.recentLagMs ?? (() => lag.recentMs());
  }

  get available(): boolean {
    return !this.open;
  }

  /**
   * The longest `execute` waits for a reply before giving up (a slow but answering Redis): what a
   * script's own deadline on Redis's clock must cover so that it never runs after its caller left.
   */
  get maxWaitMs(): number {
    return this.options.commandTimeoutMs === undefined ? Infinity : this.lateLimitMs;
  }

  /** Runs `op` unless the circuit is open; availability failures reject as RedisUnavailableError. */
  async execute<T>(op: () => Promise<T>): Promise<T> {
    if (this.open) throw new RedisUnavailableError('Redis circuit is open', false);
    const sentAt = performance.now();
    try {
      const result = await this.withDeadline(op, sentAt);
      this.failures = 0;
      return result;
    } catch (err) {
      const unavailable = toRedisUnavailable(err);
      if (!unavailable) throw err;
      // A timeout while Redis answered other commands sent after this one: slow, not down.
      const answeredSince = this.lastReplyAt > sentAt;
      if (!(err instanceof LateReplyError) && !(isTimeout(err) && answeredSince)) {
        this.failures += 1;
        if (this.failures >= this.options.failureThreshold) this.trip(unavailable.message);
      }
      throw unavailable;
    }
  }

  /** Opens the circuit now (the connection closed, or a caller saw a failure it cannot ignore). */
  trip(reason: string): void {
    if (this.open || this.stopped) return;
    this.open = true;
    this.logger.warn({ reason }, 'redis circuit opened: callers fall back until Redis answers');
    this.probeTimer = setInterval(() => this.runProbe(), this.options.probeIntervalMs);
    this.probeTimer.unref();
    // Commands still waiting for a reply give up now: their callers fall back with the rest.
    for (const w of [...this.waiters]) w.fail('silent');
    this.emit(false);
  }

  /** Probes at once (e.g. the client reports it reconnected) instead of waiting for the timer. */
  probeNow(): void {
    if (this.open) this.runProbe();
  }

  onChange(listener: RedisAvailabilityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    this.listeners.clear();
  }

  /** Every reply (or error reply) from Redis, including one whose caller already gave up. */
  private observe<T>(work: Promise<T>): Promise<T> {
    work.then(
      () => (this.lastReplyAt = performance.now()),
      (err: unknown) => {
        if (err instanceof Error && err.name === 'ReplyError') this.lastReplyAt = performance.now();
      },
    );
    return work;
  }

  private withDeadline<T>(op: () => Promise<T>, sentAt: number): Promise<T> {
    const timeout = this.options.commandTimeoutMs;
    const work = this.observe(op());
    if (timeout === undefined) return work;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const waiter: Waiter = {
        fail: (verdict) => {
          if (!this.waiters.delete(waiter)) return;
          if (timer) clearTimeout(timer);
          reject(verdict === 'silent' ? new Error(COMMAND_TIMED_OUT) : new LateReplyError());
        },
      };
      const check = () => {
        if (!this.waiters.has(waiter)) return;
        const now = performance.now();
        const silentFor = now - Math.max(sentAt, this.lastReplyAt);
        const silence = this.silenceMs + this.recentLagMs();
        const waited = now - sentAt;
        if (silentFor >= silence) return waiter.fail('silent');
        if (waited >= this.lateLimitMs) return waiter.fail('too-late');
        arm(Math.min(silence - silentFor, this.lateLimitMs - waited));
      };
      // The verdict waits one loop turn after the timer: replies already read count (lag-aware).
      const arm = (ms: number) => {
        timer = setTimeout(() => setImmediate(check), Math.max(1, ms));
      };
      this.waiters.add(waiter);
      arm(timeout);
      work.then(
        (value) => {
          if (!this.waiters.delete(waiter)) return;
          if (timer) clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (!this.waiters.delete(waiter)) return;
          if (timer) clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private runProbe(): void {
    if (this.probing || !this.open || this.stopped) return;
    this.probing = true;
    const timeout = this.options.commandTimeoutMs;
    const ping = this.observe(this.probe());
    (timeout === undefined ? ping : lagAwareTimeout(ping, timeout))
      .then(() => this.close())
      .catch(() => undefined)
      .finally(() => {
        this.probing = false;
      });
  }

  private close(): void {
    if (!this.open || this.stopped) return;
    this.open = false;
    this.failures = 0;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    this.logger.log('redis circuit closed: Redis answers again');
    this.emit(true);
  }

  private emit(available: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(available);
      } catch (err) {
        this.logger.error({ err }, 'redis availability listener failed');
      }
    }
  }
}

/** A command that waited its whole late limit while Redis kept answering others. */
export class LateReplyError extends Error {
  constructor() {
    super('Redis reply later than the late limit (Redis answers, slowly)');
    this.name = 'LateReplyError';
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === COMMAND_TIMED_OUT;
}
