import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, get, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, type INestApplication, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { loadConfig } from '@gateway/config';
import { HealthModule, ShutdownService } from '@gateway/health';
import { TEST_CATALOG } from '../support/catalog';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { infrastructureModules } from '../support/nest';
import { freePort } from '../support/process';
import { startRedis, stopRedis } from '../support/redis-process';
import { eventually, sleep } from '../support/wait';

/**
 * The health lib on a real Postgres and Redis, without the rest of the gateway: the states of
 * /health, /health/live and /health/ready as dependencies fail and recover, and draining.
 */
jest.setTimeout(60_000);

@Controller('slow')
class SlowController {
  @Get()
  async slow(@Query('ms') ms = '800'): Promise<{ ok: true }> {
    await sleep(Number(ms));
    return { ok: true };
  }
}

interface Instance {
  app: INestApplication;
  url: string;
  server: Server;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

async function boot(db: TestDatabase, env: Record<string, string> = {}): Promise<Instance> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `hl${randomBytes(4).toString('hex')}:`,
    ADMIN_API_KEY: `admin-${randomBytes(20).toString('hex')}`,
    GATEWAY_CONFIG: TEST_CATALOG,
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
    ...env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [...infrastructureModules(config), HealthModule],
    controllers: [SlowController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;
  return {
    app,
    url,
    server,
    http: () => request(url),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

function getWith(
  agent: Agent,
  url: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

describe('health lib (integration)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('health');
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe('with Postgres and Redis up', () => {
    let gw: Instance;
    beforeAll(async () => {
      gw = await boot(db);
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('GET /health is 200 healthy in the PRD shape, with the checks extension', async () => {
      const before = Date.now();
      const res = await gw.http().get('/health').expect(200);
      expect(res.body).toEqual({
        status: 'healthy',
        service: 'llm-gateway',
        timestamp: expect.any(String),
        // No providers lib in this app: `unknown`, which never degrades.
        checks: { postgres: 'up', redis: 'up', providers: 'unknown', draining: false },
      });
      const ts = Date.parse(res.body.timestamp);
      expect(new Date(ts).toISOString()).toBe(res.body.timestamp);
      expect(ts).toBeGreaterThanOrEqual(before - 1000);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('GET /health/live is 200 and depends on nothing', async () => {
      const res = await gw.http().get('/health/live').expect(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.details.process.status).toBe('up');
    });

    it('GET /health/ready is 200 with shutdown, postgres and redis up', async () => {
      const res = await gw.http().get('/health/ready').expect(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.details).toEqual({
        shutdown: { status: 'up' },
        postgres: { status: 'up' },
        redis: { status: 'up' },
      });
    });

    it('answers a burst of concurrent probes consistently', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => gw.http().get(i % 2 ? '/health' : '/health/ready')),
      );
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    });
  });

  describe('Redis unreachable from boot (dead port)', () => {
    let gw: Instance;
    beforeAll(async () => {
      gw = await boot(db, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('/health is 200 degraded, /health/ready 503 naming redis, /health/live 200', async () => {
      const health = await gw.http().get('/health').expect(200);
      expect(health.body).toMatchObject({
        status: 'degraded',
        service: 'llm-gateway',
        checks: { postgres: 'up', redis: 'down', draining: false },
      });
      const ready = await gw.http().get('/health/ready').expect(503);
      expect(ready.headers['retry-after']).toBe('5');
      expect(ready.body.status).toBe('error');
      expect(ready.body.error.redis.status).toBe('down');
      expect(ready.body.info.postgres.status).toBe('up');
      await gw.http().get('/health/live').expect(200);
    });
  });

  describe('Redis outage and recovery (own redis-server)', () => {
    let gw: Instance;
    let redis: ChildProcess;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      redis = await startRedis(port);
      gw = await boot(db, { REDIS_URL: `redis://127.0.0.1:${port}` });
    });
    afterAll(async () => {
      await gw?.close();
      if (redis) await stopRedis(redis);
    });

    it('goes healthy → degraded (ready 503) → healthy as Redis dies and returns', async () => {
      await eventually(async () => {
        expect((await gw.http().get('/health')).body.status).toBe('healthy');
      });
      await stopRedis(redis);
      await eventually(async () => {
        const res = await gw.http().get('/health');
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('degraded');
        expect(res.body.checks.redis).toBe('down');
      });
      await gw.http().get('/health/ready').expect(503);
      await gw.http().get('/health/live').expect(200);

      redis = await startRedis(port);
      await eventually(async () => {
        expect((await gw.http().get('/health')).body.status).toBe('healthy');
      });
      await gw.http().get('/health/ready').expect(200);
    });
  });

  describe('Postgres lost', () => {
    let own: TestDatabase;
    let gw: Instance;
    beforeAll(async () => {
      own = await createTestDatabase('health_pg');
      gw = await boot(own);
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('/health is 503 unhealthy and /health/ready 503 once the database is gone; live stays 200', async () => {
      await gw.http().get('/health').expect(200);
      await own.drop(); // terminates the app's connections; reconnecting fails
      await eventually(async () => {
        const res = await gw.http().get('/health');
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.body).toMatchObject({
          status: 'unhealthy',
          service: 'llm-gateway',
          checks: { postgres: 'down', redis: 'up', draining: false },
        });
      });
      const ready = await gw.http().get('/health/ready').expect(503);
      expect(ready.body.error.postgres.status).toBe('down');
      await gw.http().get('/health/live').expect(200);
    });
  });

  describe('draining', () => {
    let gw: Instance;
    beforeEach(async () => {
      gw = await boot(db);
    });
    afterEach(async () => {
      await gw?.close();
    });

    it('turns /health and /health/ready to 503 at once while /health/live stays 200', async () => {
      await gw.http().get('/health/ready').expect(200);
      gw.app.get(ShutdownService).startDraining();
      expect(gw.app.get(ShutdownService).draining).toBe(true);

      const health = await gw.http().get('/health').expect(503);
      expect(health.body).toMatchObject({
        status: 'unhealthy',
        service: 'llm-gateway',
        checks: { draining: true },
      });
      expect(health.headers.connection).toBe('close');
      const ready = await gw.http().get('/health/ready').expect(503);
      expect(ready.body.error.shutdown).toEqual({
        status: 'down',
        draining_since: expect.any(String),
      });
      await gw.http().get('/health/live').expect(200);
    });

    it('lets an in-flight request finish and closes keep-alive sockets instead of waiting 65 s', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 2 });
      try {
        // One idle keep-alive socket, and one busy with a slow request received before draining.
        const warm = await getWith(agent, `${gw.url}/health/live`);
        expect(warm.headers.connection).toBe('keep-alive');
        const slow = getWith(agent, `${gw.url}/slow?ms=800`);
        await sleep(150);

        const started = Date.now();
        gw.app.get(ShutdownService).startDraining();
        // What main.ts does after the drain delay: stop listening, wait for the sockets to end.
        const closed = new Promise<void>((resolve) => gw.server.close(() => resolve()));

        const res = await slow;
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toEqual({ ok: true });
        await closed;
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        agent.destroy();
      }
    });

    it('app.close() marks the instance draining before the pools close', async () => {
      const shutdown = gw.app.get(ShutdownService);
      expect(shutdown.draining).toBe(false);
      await gw.close();
      expect(shutdown.draining).toBe(true);
      expect(shutdown.drainingSince).toBeInstanceOf(Date);
    });
  });
});
