import { Logger } from '@nestjs/common';
import { LateReplyError, RedisCircuitBreaker, toRedisUnavailable } from './redis-circuit-breaker';
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

  describe('a late reply is not a failure', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const later = <T>(value: T, ms: number) =>
      new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
    const never = () => new Promise<never>(() => undefined);

    function breakerWith(opts: { silenceMs?: number; lateLimitMs?: number } = {}) {
      return new RedisCircuitBreaker(
        never,
        { failureThreshold: 3, probeIntervalMs: 1_000, commandTimeoutMs: 30, ...opts },
        quiet,
      );
    }

    it('a command past its deadline waits for its reply while Redis answers others', async () => {
      const breaker = breakerWith({ silenceMs: 60, lateLimitMs: 1_000 });
      // A slow Redis: each reply comes 50 ms after the previous one, the awaited one after 200 ms.
      const slow = breaker.execute(() => later('mine', 200));
      const others = [1, 2, 3, 4].map((i) => breaker.execute(() => later(i, i * 45)));
      await expect(slow).resolves.toBe('mine');
      await expect(Promise.all(others)).resolves.toEqual([1, 2, 3, 4]);
      expect(breaker.available).toBe(true);
      breaker.stop();
    });

    it('fails and counts a command when Redis has been silent for the silence window', async () => {
      const breaker = breakerWith({ silenceMs: 60 });
      const started = Date.now();
      const calls = [1, 2, 3].map(() => breaker.execute(never).catch((e: unknown) => e));
      const errors = await Promise.all(calls);
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(55);
      expect(waited).toBeLessThan(1_000);
      for (const e of errors) expect(e).toBeInstanceOf(RedisUnavailableError);
      expect(breaker.available).toBe(false);
      breaker.stop();
    });

    it('widens the silence window by the recent event-loop lag (an oversubscribed machine)', async () => {
      const breaker = new RedisCircuitBreaker(
        never,
        {
          failureThreshold: 1,
          probeIntervalMs: 1_000,
          commandTimeoutMs: 30,
          silenceMs: 60,
          recentLagMs: () => 200,
        },
        quiet,
      );
      const started = Date.now();
      await expect(breaker.execute(never)).rejects.toBeInstanceOf(RedisUnavailableError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      breaker.stop();
    });

    it('when the circuit opens, commands still waiting give up at once', async () => {
      const breaker = breakerWith({ silenceMs: 5_000, lateLimitMs: 5_000 });
      const started = Date.now();
      const waiting = breaker.execute(never).catch((e: unknown) => e);
      await sleep(40);
      breaker.trip('connection closed');
      expect(await waiting).toBeInstanceOf(RedisUnavailableError);
      expect(Date.now() - started).toBeLessThan(1_000);
      breaker.stop();
    });

    it('past the late limit a command fails without opening the circuit', async () => {
      const breaker = breakerWith({ silenceMs: 60, lateLimitMs: 150 });
      // Redis keeps answering other commands every 20 ms, never this one.
      let ticking = true;
      const ticker = (async () => {
        while (ticking) await breaker.execute(() => later('ok', 20));
      })();
      const results = await Promise.all(
        [1, 2, 3, 4].map(() => breaker.execute(never).catch((e: unknown) => e)),
      );
      ticking = false;
      await ticker;
      for (const e of results) {
        expect(e).toBeInstanceOf(RedisUnavailableError);
        expect((e as Error).cause).toBeInstanceOf(LateReplyError);
      }
      expect(breaker.available).toBe(true);
      expect(breaker.maxWaitMs).toBe(150);
      breaker.stop();
    });
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
