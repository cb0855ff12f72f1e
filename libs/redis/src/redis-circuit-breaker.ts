import type { Logger } from '@nestjs/common';
import { lagAwareTimeout } from './lag-aware-timeout';
import { RedisUnavailableError } from './redis-unavailable.error';

export interface RedisCircuitBreakerOptions {
  /** Consecutive availability failures that open the circuit. */
  readonly failureThreshold: number;
  /** While open, how often a PING checks whether Redis is back. */
  readonly probeIntervalMs: number;
  /**
   * Deadline of each command run through `execute` and of each probe (lag-aware, see
   * lagAwareTimeout); none when absent (the client's own timeout applies).
   */
  readonly commandTimeoutMs?: number;
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

/**
 * A circuit breaker around one Redis connection, so an outage costs callers one timeout, not one
 * per command (docs/limits-and-budgets.md, Redis outage). Closed: commands run, and a run of
 * `failureThreshold` availability failures opens it. Open: commands fail at once without touching
 * the socket, so a dead or frozen Redis costs callers nothing; a background PING every
 * `probeIntervalMs` closes it again as soon as Redis answers. Listeners hear every change.
 */
export class RedisCircuitBreaker {
  private open = false;
  private failures = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly listeners = new Set<RedisAvailabilityListener>();

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly options: RedisCircuitBreakerOptions,
    private readonly logger: Logger,
  ) {}

  get available(): boolean {
    return !this.open;
  }

  /** Runs `op` unless the circuit is open; availability failures reject as RedisUnavailableError. */
  async execute<T>(op: () => Promise<T>): Promise<T> {
    if (this.open) throw new RedisUnavailableError('Redis circuit is open', false);
    try {
      const result = await this.withTimeout(op);
      this.failures = 0;
      return result;
    } catch (err) {
      const unavailable = toRedisUnavailable(err);
      if (!unavailable) throw err;
      this.failures += 1;
      if (this.failures >= this.options.failureThreshold) this.trip(unavailable.message);
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

  private withTimeout<T>(op: () => Promise<T>): Promise<T> {
    const timeout = this.options.commandTimeoutMs;
    return timeout === undefined ? op() : lagAwareTimeout(op(), timeout);
  }

  private runProbe(): void {
    if (this.probing || !this.open || this.stopped) return;
    this.probing = true;
    this.withTimeout(this.probe)
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
