import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RedisService } from '@gateway/redis';

/** Upper bound on a readiness ping; the client's own command timeout is usually shorter. */
export const REDIS_PING_TIMEOUT_MS = 500;

/**
 * Terminus indicator for the shared Redis connection. A connection that is not `ready` is down
 * without sending anything (the client has no offline queue, so a PING would fail anyway). The
 * reason shown is generic because the health routes are open; the log line has the detail.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async pingCheck<const Key extends string>(
    key: Key,
    timeoutMs = REDIS_PING_TIMEOUT_MS,
  ): Promise<HealthIndicatorResult<Key>> {
    const check = this.indicators.check(key);
    const client = this.redis.client;
    if (client.status !== 'ready') return check.down({ message: `connection ${client.status}` });
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timeout of ${timeoutMs}ms exceeded`)),
          timeoutMs,
        );
      });
      await Promise.race([client.ping(), timeout]);
      return check.up();
    } catch (err) {
      return check.down({ message: err instanceof Error ? err.message : 'ping failed' });
    } finally {
      clearTimeout(timer);
    }
  }
}
