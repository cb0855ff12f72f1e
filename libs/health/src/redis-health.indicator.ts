import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RedisService, type RedisClient } from '@gateway/redis';

/** Upper bound on a readiness ping; the client's own command timeout is usually shorter. */
export const REDIS_PING_TIMEOUT_MS = 500;
const RETRY_PAUSE_MS = 25;

/**
 * Terminus indicator for the shared Redis connection: ready and answering PING within the timeout.
 * The connection is tuned for the hot path (a command slower than REDIS_COMMAND_TIMEOUT_MS, 100 ms
 * by default, fails), so one slow PING on a busy machine is retried until the deadline rather than
 * reported as an outage; a connection being (re)established is likewise given until the deadline to
 * become ready. Reasons stay generic because the health routes are open.
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
    const deadline = Date.now() + timeoutMs;
    let reason = 'timeout';
    while (Date.now() < deadline) {
      if (client.status === 'end' || client.status === 'wait') {
        return check.down({ message: `connection ${client.status}` });
      }
      if (client.status !== 'ready') {
        reason = `connection ${client.status}`;
        await whenReady(client, deadline - Date.now());
        continue;
      }
      try {
        await withDeadline(client.ping(), deadline - Date.now());
        return check.up();
      } catch (err) {
        reason = err instanceof Error ? err.message : 'ping failed';
        // A PING that fails at once (socket closing) must not spin until the deadline.
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
    return check.down({ message: reason });
  }
}

function whenReady(client: RedisClient, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(ms, 0));
    client.once('ready', done);
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timeout of ${REDIS_PING_TIMEOUT_MS}ms exceeded`)),
      Math.max(ms, 0),
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
