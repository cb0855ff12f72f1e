import type { ChildProcess } from 'node:child_process';
import type { CacheControls } from '@gateway/cache';
import { GatewayError } from '@gateway/errors';
import { freePort } from '../support/process';
import {
  answer,
  type CacheInstance,
  chat,
  startCache,
  tenant,
  uniquePrefix,
  until,
} from '../support/cache';
import { startRedis } from '../support/redis-process';

const DEFAULT: CacheControls = { lookup: true, store: true };

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

describe('cache with Redis down or frozen', () => {
  let port: number;
  let server: ChildProcess;
  let c: CacheInstance;

  beforeAll(async () => {
    port = await freePort();
    server = await startRedis(port);
    c = await startCache(uniquePrefix('down'), {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_COMMAND_TIMEOUT_MS: '100',
    });
  });
  afterAll(async () => {
    await c.close();
    server.kill('SIGCONT');
    await stop(server);
  });

  it('works while Redis is up', async () => {
    const t = tenant();
    const key = c.cache.key(t, 'gpt-4o-mini', chat());
    await c.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('up')));
    expect((await c.lookup(t, key, DEFAULT)).status).toBe('hit');
  });

  it('a frozen Redis costs at most the command timeout, then bypass', async () => {
    const t = tenant();
    const key = c.cache.key(t, 'gpt-4o-mini', chat());
    server.kill('SIGSTOP');
    try {
      const started = Date.now();
      expect(await c.lookup(t, key, DEFAULT)).toEqual({ status: 'bypass' });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(90);
      expect(took).toBeLessThan(400);
      // Then the cache backs off: the next requests do not each pay the timeout again.
      const next = Date.now();
      for (let i = 0; i < 20; i++) {
        expect(await c.lookup(t, key, DEFAULT)).toEqual({ status: 'bypass' });
      }
      expect(Date.now() - next).toBeLessThan(50);
    } finally {
      server.kill('SIGCONT');
    }
  });

  describe('after Redis is killed', () => {
    beforeAll(async () => {
      await stop(server);
      await until(() => !c.store.available(), 3_000);
    });

    it('lookup answers bypass at once, without an error', async () => {
      const t = tenant();
      const key = c.cache.key(t, 'gpt-4o-mini', chat());
      const started = Date.now();
      for (let i = 0; i < 50; i++) {
        expect(await c.lookup(t, key, DEFAULT)).toEqual({ status: 'bypass' });
      }
      expect(Date.now() - started).toBeLessThan(100);
    });

    it('coalesce still computes, once per request', async () => {
      const t = tenant();
      const key = c.cache.key(t, 'gpt-4o-mini', chat());
      let calls = 0;
      const out = await Promise.all(
        [1, 2, 3].map(() =>
          c.coalesce(t, key, DEFAULT, () => {
            calls++;
            return Promise.resolve(answer('computed without Redis'));
          }),
        ),
      );
      expect(calls).toBe(3);
      for (const o of out)
        expect(o).toEqual({ answer: answer('computed without Redis'), leader: true, hit: false });
    });

    it('a flush reports the outage as 503 dependency_unavailable instead of pretending', async () => {
      const err = await c.cache.flushTenant(tenant().tenantId).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe('dependency_unavailable');
      expect((err as GatewayError).headers['Retry-After']).toBe('1');
      await expect(c.cache.flushAll()).rejects.toBeInstanceOf(GatewayError);
    });

    it('resumes caching when Redis comes back', async () => {
      server = await startRedis(port);
      await until(() => c.store.available(), 5_000);
      const t = tenant();
      const key = c.cache.key(t, 'gpt-4o-mini', chat());
      expect((await c.lookup(t, key, DEFAULT)).status).toBe('miss');
      await c.coalesce(t, key, DEFAULT, () => Promise.resolve(answer('back')));
      expect((await c.lookup(t, key, DEFAULT)).status).toBe('hit');
    });
  });
});
