import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { GatewayConfigService, redisUrlWithoutDatabase, type RedisConfig } from '@gateway/config';
import { closeQuietly } from './close-quietly';
import { RedisCircuitBreaker } from './redis-circuit-breaker';
import { RedisKeys } from './redis-keys';

export type RedisClient = Redis | Cluster;

/** Availability failures in a row that open the circuit of the main connection. */
const BREAKER_FAILURE_THRESHOLD = 3;
/** At most one connection-error line per connection this often (a reconnect loop errors constantly). */
const ERROR_LOG_INTERVAL_MS = 10_000;
/** TCP keepalive idle time of every connection. */
const KEEPALIVE_IDLE_MS = 10_000;
/** While the circuit is open, a PING this often: shared enforcement resumes well within 5 s. */
const BREAKER_PROBE_INTERVAL_MS = 250;

/**
 * The client-level timeout of a connection whose request-path commands run under the lag-aware
 * timeout: a backstop for anything else, never the one that decides.
 */
export function backstopTimeoutMs(commandTimeoutMs: number): number {
  return Math.max(1_000, 10 * commandTimeoutMs);
}

/**
 * Owns the shared Redis connections. Tuned to fail fast, because limits, budgets and the cache all
 * have a way to serve without Redis and a request must not wait on it: a bounded command
 * timeout and no offline queue, so a dead or frozen Redis costs a request at most
 * REDIS_COMMAND_TIMEOUT_MS and callers fall back instead of piling up. `breaker` wraps the main
 * connection: once it is open, calls made through `execute` fail without waiting at all.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  private readonly logger = new Logger('Redis');
  readonly client: RedisClient;
  readonly keys: RedisKeys;
  readonly breaker: RedisCircuitBreaker;
  private subscriberConn: RedisClient | null = null;
  private readonly cfg: RedisConfig;

  constructor(config: GatewayConfigService) {
    this.cfg = config.config.redis;
    this.keys = new RedisKeys(this.cfg.keyPrefix);
    // Commands on the main connection go through the breaker, which enforces the command timeout
    // lag-aware; the client's own timeout is only a backstop for direct calls.
    this.client = this.connect(
      'main',
      false,
      undefined,
      backstopTimeoutMs(this.cfg.commandTimeoutMs),
    );
    this.breaker = new RedisCircuitBreaker(
      () => this.client.ping(),
      {
        failureThreshold: BREAKER_FAILURE_THRESHOLD,
        probeIntervalMs: BREAKER_PROBE_INTERVAL_MS,
        commandTimeoutMs: this.cfg.commandTimeoutMs,
      },
      this.logger,
    );
    // A closed socket is certain news: open at once instead of waiting for failed commands.
    this.client.on('close', () => this.breaker.trip('connection closed'));
    this.client.on('ready', () => this.breaker.probeNow());
  }

  /** False while the main connection's circuit is open (for /health `degraded`). */
  isAvailable(): boolean {
    return this.breaker.available;
  }

  /**
   * Runs a command on the main connection through the circuit breaker: rejects at once with
   * RedisUnavailableError while the circuit is open, and counts availability failures.
   */
  execute<T>(op: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.breaker.execute(() => op(this.client));
  }

  /** A dedicated connection for SUBSCRIBE (a subscribed connection cannot run other commands). */
  subscriber(): RedisClient {
    this.subscriberConn ??= this.connect('subscriber', true);
    return this.subscriberConn;
  }

  /** A separate connection (e.g. another logical database for the response cache). */
  connect(
    name: string,
    forSubscribe = false,
    db?: number,
    commandTimeoutMs = this.cfg.commandTimeoutMs,
  ): RedisClient {
    const base: RedisOptions = {
      connectionName: `llm-gateway:${name}`,
      enableOfflineQueue: forSubscribe,
      maxRetriesPerRequest: forSubscribe ? null : 0,
      commandTimeout: forSubscribe ? undefined : commandTimeoutMs,
      connectTimeout: 1_000,
      // TCP keepalive: the subscriber connection sends nothing for long stretches, and without
      // probes a peer gone silently (dropped network) would never be noticed there.
      keepAlive: KEEPALIVE_IDLE_MS,
      lazyConnect: false,
      // Reconnect quickly and forever: shared enforcement must resume within seconds of Redis returning.
      retryStrategy: (times) => Math.min(50 * times, 500),
      // Commands issued in the same event-loop turn (e.g. the settlements of requests whose answers
      // arrived together) leave in one write: fewer system calls under load, one setImmediate of
      // delay when idle. Each command keeps its own reply, error and timeout. Not in cluster mode,
      // where ioredis's auto-pipeline holds commands while slots are unknown instead of failing.
      enableAutoPipelining: !forSubscribe && this.cfg.clusterNodes.length === 0,
    };
    const client: RedisClient =
      this.cfg.clusterNodes.length > 0
        ? new Cluster([...this.cfg.clusterNodes], {
            redisOptions: base,
            enableOfflineQueue: forSubscribe,
            clusterRetryStrategy: (times) => Math.min(50 * times, 500),
            slotsRefreshTimeout: 1_000,
          })
        : db === undefined
          ? new Redis(this.cfg.url, base)
          : // A database in the URL would win over `db` (ioredis), and that one is the limiters'.
            new Redis(redisUrlWithoutDatabase(this.cfg.url), { ...base, db });
    // A reconnect loop errors every 50–500 ms per connection: log the first error, then at most one
    // line per ERROR_LOG_INTERVAL_MS with how many were not logged.
    let lastLoggedAt = 0;
    let suppressed = 0;
    client.on('error', (err: Error) => {
      const now = Date.now();
      if (now - lastLoggedAt < ERROR_LOG_INTERVAL_MS) {
        suppressed += 1;
        return;
      }
      this.logger.warn({ err: err.message, name, suppressed }, 'redis error');
      lastLoggedAt = now;
      suppressed = 0;
    });
    return client;
  }

  async onModuleDestroy(): Promise<void> {
    this.breaker.stop();
    const conns = [this.client, this.subscriberConn].filter((c): c is RedisClient => c !== null);
    await Promise.all(conns.map(closeQuietly));
  }
}
