import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShutdownService } from '@gateway/health';
import { createTenant, startGateway, type TestGateway } from '../support/app';
import { freePort } from '../support/process';
import { startRedis, stopRedis, eventually } from '../support/redis-process';

/**
 * The open operational routes on the real app: docs/api.md §3 shapes and states of /health,
 * /health/live and /health/ready, their place in the OpenAPI document (no key), and that they
 * are neither rate-limited nor audited.
 */
jest.setTimeout(60_000);

describe('health routes (e2e)', () => {
  describe('with every dependency up', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway();
    });
    afterAll(async () => {
      await gw?.close();
    });

    it('GET /health answers healthy in the PRD shape', async () => {
      const res = await gw.http().get('/health').expect(200);
      expect(res.body).toEqual({
        status: 'healthy',
        service: 'llm-gateway',
        timestamp: expect.any(String),
        checks: {
          postgres: 'up',
          redis: 'up',
          providers: 'ok',
          draining: false,
          audit_spool: {
            mode: 'postgres',
            records: 0,
            bytes: 0,
            max_bytes: 536870912,
            oldest_age_seconds: 0,
          },
        },
      });
      expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });

    it('GET /health/live and /health/ready answer 200', async () => {
      const live = await gw.http().get('/health/live').expect(200);
      expect(live.body.status).toBe('ok');
      const ready = await gw.http().get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({
        status: 'ok',
        details: {
          shutdown: { status: 'up' },
          postgres: { status: 'up' },
          redis: { status: 'up' },
        },
      });
    });

    it('needs no key, takes no rate-limit slot and writes no audit record', async () => {
      const tenant = await createTenant(gw, { rate_limit: 2 });
      for (let i = 0; i < 10; i++) {
        for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) {
          // Even with a tenant key attached, these routes ignore it.
          const res = await gw.http().get(path).set('X-API-Key', tenant.api_key);
          expect({ path, status: res.status }).toEqual({ path, status: 200 });
          expect(res.headers['x-ratelimit-limit']).toBeUndefined();
        }
      }
      const rows: Array<{ n: number }> = await gw.database.dataSource.query(
        'SELECT count(*)::int AS n FROM request_records WHERE tenant_id = $1',
        [tenant.tenant_id],
      );
      expect(rows[0].n).toBe(0);
    });

    it('is in the OpenAPI document without a security requirement', async () => {
      const doc = (await gw.http().get('/docs-json').expect(200)).body;
      for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) {
        const op = doc.paths[path]?.get;
        expect({ path, documented: Boolean(op) }).toEqual({ path, documented: true });
        expect({ path, security: op.security ?? [] }).toEqual({ path, security: [] });
      }
      expect(doc.security ?? []).toEqual([]);
    });

    it('draining: /health and /health/ready turn 503 at once, /health/live stays 200, traffic is still served', async () => {
      const tenant = await createTenant(gw);
      gw.app.get(ShutdownService).startDraining();

      const health = await gw.http().get('/health').expect(503);
      expect(health.body).toMatchObject({
        status: 'unhealthy',
        service: 'llm-gateway',
        checks: { draining: true },
      });
      expect(health.headers['retry-after']).toBe('5');
      const ready = await gw.http().get('/health/ready').expect(503);
      expect(ready.body.status).not.toBe('ok');
      await gw.http().get('/health/live').expect(200);

      // Requests that still reach a draining instance are answered, on a closing connection.
      const res = await gw
        .http()
        .post('/api/v1/completions')
        .set('X-API-Key', tenant.api_key)
        .send({ model: 'mock-model', messages: [{ role: 'user', content: 'still there?' }] });
      expect(res.status).toBe(200);
      expect(res.headers.connection).toBe('close');
    });
  });

  describe('Redis unreachable (dead port)', () => {
    let gw: TestGateway;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      gw = await startGateway({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    });
    afterAll(async () => {
      // Subscriber connections queue their QUIT until Redis answers, so app.close() waits for a
      // Redis to exist: give it one on the same port, then close.
      const redis = await startRedis(port);
      try {
        await gw?.close();
      } finally {
        await stopRedis(redis);
      }
    });

    it('/health is 200 degraded, /health/ready 503, /health/live 200', async () => {
      const health = await gw.http().get('/health').expect(200);
      expect(health.body).toMatchObject({
        status: 'degraded',
        service: 'llm-gateway',
        checks: { postgres: 'up', redis: 'down', draining: false },
      });
      const ready = await gw.http().get('/health/ready').expect(503);
      expect(ready.body.error.redis.status).toBe('down');
      await gw.http().get('/health/live').expect(200);
    });
  });

  describe('a model with no available route', () => {
    let gw: TestGateway;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'llmgw-health-'));
      const catalog = join(dir, 'catalog.yaml');
      // `dead` answers nothing; its health check marks it down, so `only-dead` has no route left.
      writeFileSync(
        catalog,
        [
          'providers:',
          '  mock: {type: mock}',
          `  dead: {type: openai-compatible, base_url: "http://127.0.0.1:${await freePort()}/v1", timeout_ms: 500, max_retries: 0, health_check: {path: /models, interval_ms: 200}}`,
          'models:',
          '  mock-model:',
          '    - {provider: mock, model: mock-1}',
          '  only-dead:',
          '    - {provider: dead, model: m}',
          'pricing:',
          '  mock/mock-1: {input: 1.00, output: 2.00, max_output_tokens: 4096}',
          '  dead/m: {input: 1.00, output: 2.00, max_output_tokens: 4096}',
          '',
        ].join('\n'),
      );
      gw = await startGateway({ catalog });
    });
    afterAll(async () => {
      await gw?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('/health turns degraded (providers: degraded) while readiness stays 200', async () => {
      await eventually(async () => {
        const res = await gw.http().get('/health');
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({
          status: 'degraded',
          checks: { postgres: 'up', redis: 'up', providers: 'degraded' },
        });
      });
      await gw.http().get('/health/ready').expect(200);
    });
  });
});
