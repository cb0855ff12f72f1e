import { Logger } from '@nestjs/common';
import { RedisCircuitBreaker, toRedisUnavailable } from './redis-circuit-breaker';
import { RedisUnavailableError } from './redis-unavailable.error';

const quiet = new Logger('test');
quiet.log = () => undefined;
quiet.warn = () => undefined;

function replyError(message: string): Error {
  const e = new Error(message);
  e.name = 'ReplyError';
  return e;
}

describe('RedisCircuitBreaker', () => {
  it('opens after consecutive availability failures, fails fast, and closes when the probe answers', async () => {
    let redisUp = false;
    const breaker = new RedisCircuitBreaker(
      () => (redisUp ? Promise.resolve('PONG') : Promise.reject(new Error('Command timed out'))),
      { failureThreshold: 2, probeIntervalMs: 10 },
      quiet,
    );
    const changes: boolean[] = [];
    breaker.onChange((a) => changes.push(a));
    const timeout = () => Promise.reject(new Error('Command timed out'));
    await expect(breaker.execute(timeout)).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(breaker.available).toBe(true);
    await expect(breaker.execute(timeout)).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(breaker.available).toBe(false);

    let ran = false;
    const fast = await breaker
      .execute(() => {
        ran = true;
        return Promise.resolve(1);
      })
      .catch((e: RedisUnavailableError) => e);
    expect(ran).toBe(false);
    expect((fast as RedisUnavailableError).maybeExecuted).toBe(false);

    redisUp = true;
    await new Promise((r) => setTimeout(r, 50));
    expect(breaker.available).toBe(true);
    expect(changes).toEqual([false, true]);
    await expect(breaker.execute(() => Promise.resolve(7))).resolves.toBe(7);
    breaker.stop();
  });

  it('does not count command errors (bugs) as unavailability', async () => {
    const breaker = new RedisCircuitBreaker(
      () => Promise.resolve(),
      { failureThreshold: 1, probeIntervalMs: 10 },
      quiet,
    );
    await expect(
      breaker.execute(() => Promise.reject(replyError('ERR wrong number of arguments'))),
    ).rejects.toThrow('ERR wrong');
    expect(breaker.available).toBe(true);
    breaker.stop();
  });

  it('classifies failures', () => {
    expect(toRedisUnavailable(replyError('ERR syntax'))).toBeNull();
    expect(toRedisUnavailable(new TypeError('x'))).toBeNull();
    expect(toRedisUnavailable(replyError('LOADING Redis is loading'))?.maybeExecuted).toBe(false);
    expect(
      toRedisUnavailable(
        new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      )?.maybeExecuted,
    ).toBe(false);
    expect(toRedisUnavailable(new Error('Command timed out'))?.maybeExecuted).toBe(true);
    expect(toRedisUnavailable(new Error('Connection is closed.'))?.maybeExecuted).toBe(true);
  });
});
