import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { closeQuietly, withTimeout } from './close-quietly';

describe('closeQuietly', () => {
  it('returns at once on a connection that never reached a (dead) server', async () => {
    // A port nothing listens on: the client keeps retrying with its offline queue on, where a
    // plain quit() would wait for a reconnect that never comes.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: false,
      retryStrategy: () => 50,
    });
    client.on('error', () => undefined);
    const started = Date.now();
    await closeQuietly(client);
    expect(Date.now() - started).toBeLessThan(200);
    // And it stays closed: no reconnect loop is left behind to keep the process alive.
    if (client.status !== 'end') await once(client, 'end');
    await new Promise((r) => setTimeout(r, 150));
    expect(client.status).toBe('end');
  });

  it('withTimeout gives up on work that never settles, and swallows rejections', async () => {
    const started = Date.now();
    await withTimeout(new Promise(() => undefined), 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    await expect(withTimeout(Promise.reject(new Error('x')), 1_000)).resolves.toBeUndefined();
  });
});
