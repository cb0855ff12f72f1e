import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { GatewayConfigService, type RedisConfig } from '@gateway/config';
import { RedisKeys } from './redis-keys';

export type RedisClient = Redis | Cluster;

/**
 * Owns the shared Redis connections. Tuned to fail fast (CONTRACT §7, issue 3): a bounded command
 * timeout and no offline queue, so a dead or frozen Redis costs a request at most
 * REDIS_COMMAND_TIMEOUT_MS and callers fall back instead of piling up.
 */
@Injectable()
export class RedisService implements OnModuleDestroy {
  private readonly logger = new Logger('Redis');
  readonly client: RedisClient;
  readonly keys: RedisKeys;
  private subscriberConn: RedisClient | null = null;
  private readonly cfg: RedisConfig;

  constructor(config: GatewayConfigService) {
    this.cfg = config.config.redis;
    this.keys = new RedisKeys(this.cfg.keyPrefix);
    this.client = this.connect('main');
  }

  /** A dedicated connection for SUBSCRIBE (a subscribed connection cannot run other commands). */
  subscriber(): RedisClient {
    this.subscriberConn ??= this.connect('subscriber', true);
    return this.subscriberConn;
  }

  /** A separate connection (e.g. another logical database for the response cache). */
  connect(name: string, forSubscribe = false, db?: number): RedisClient {
    const base: RedisOptions = {
      connectionName: `llm-gateway:${name}`,
      enableOfflineQueue: forSubscribe,
      maxRetriesPerRequest: forSubscribe ? null : 0,
      commandTimeout: forSubscribe ? undefined : this.cfg.commandTimeoutMs,
      connectTimeout: 1_000,
      lazyConnect: false,
      // Reconnect quickly and forever: shared enforcement must resume within seconds of Redis returning.
      retryStrategy: (times) => Math.min(50 * times, 500),
    };
    const client: RedisClient =
      this.cfg.clusterNodes.length > 0
        ? new Cluster([...this.cfg.clusterNodes], {
            redisOptions: base,
            enableOfflineQueue: forSubscribe,
            clusterRetryStrategy: (times) => Math.min(50 * times, 500),
            slotsRefreshTimeout: 1_000,
          })
        : new Redis(this.cfg.url, db === undefined ? base : { ...base, db });
    client.on('error', (err: Error) => this.logger.warn({ err: err.message, name }, 'redis error'));
    return client;
  }

  async onModuleDestroy(): Promise<void> {
    const conns = [this.client, this.subscriberConn].filter((c): c is RedisClient => c !== null);
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
