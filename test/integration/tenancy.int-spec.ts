import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Body, Controller, Get, type INestApplication, Module, Post } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import request from 'supertest';
import { ConfigModule, loadConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayExceptionFilter } from '@gateway/errors';
import { deferredJsonMiddleware, requestContextMiddleware } from '@gateway/http';
import { ObservabilityModule } from '@gateway/observability';
import { PersistenceModule } from '@gateway/persistence';
import { RedisModule } from '@gateway/redis';
import { CurrentTenant, TenancyModule, TenantRoute, TenantsService } from '@gateway/tenancy';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Tenancy on real Postgres and Redis: the admin API over HTTP, and revocation seen by a second
 * instance (same database and Redis) within 1 s — with pub/sub, and without it (TTL bound only).
 * The app here is TenancyModule plus the real middleware and error filter, and one tenant route.
 */

@Controller('test')
class ProbeController {
  @Get('whoami')
  @TenantRoute()
  whoami(@CurrentTenant() tenant: TenantContext): TenantContext {
    return tenant;
  }

  @Post('echo')
  @TenantRoute()
  echo(@Body() body: unknown): unknown {
    return body ?? {};
  }
}

interface Instance {
  app: INestApplication;
  url: string;
  http(): ReturnType<typeof request>;
  tenants: TenantsService;
}

const ADMIN_KEY = `admin-${randomBytes(24).toString('hex')}`;
const CATALOG = join(__dirname, '..', 'support', 'catalog.test.yaml');

async function startInstance(
  db: TestDatabase,
  redisKeyPrefix: string,
  env: Record<string, string> = {},
): Promise<Instance> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: redisKeyPrefix,
    ADMIN_API_KEY: ADMIN_KEY,
    GATEWAY_CONFIG: CATALOG,
    DB_POOL_SIZE: '3',
    ...env,
  });
  @Module({
    imports: [
      ConfigModule.forRoot(config),
      PersistenceModule.forRoot(ENTITIES),
      RedisModule,
      ObservabilityModule,
      TenancyModule,
    ],
    controllers: [ProbeController],
    providers: [{ provide: APP_FILTER, useClass: GatewayExceptionFilter }],
  })
  class TestAppModule {}
  const app = await NestFactory.create(TestAppModule, { bodyParser: false, logger: false });
  app.use(requestContextMiddleware);
  app.use(deferredJsonMiddleware(config.server.maxBodyBytes));
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  return { app, url, http: () => request(url), tenants: app.get(TenantsService) };
}

const admin = (i: Instance) => ({
  get: (path: string) => i.http().get(path).set('X-API-Key', ADMIN_KEY),
  post: (path: string, body?: object) => i.http().post(path).set('X-API-Key', ADMIN_KEY).send(body),
  patch: (path: string, body: object) =>
    i.http().patch(path).set('X-API-Key', ADMIN_KEY).send(body),
  delete: (path: string) => i.http().delete(path).set('X-API-Key', ADMIN_KEY),
});

async function createTenant(i: Instance, body: object = {}) {
  const res = await admin(i).post('/api/v1/admin/tenants', {
    name: `t-${randomBytes(3).toString('hex')}`,
    rate_limit: 100,
    monthly_budget: 10,
    ...body,
  });
  expect(res.status).toBe(201);
  return res.body as { tenant_id: string; api_key: string; key_id: string; [k: string]: unknown };
}

/**
 * Polls until `check` passes and returns when the passing check was *sent*, in ms after `since`
 * (so request latency does not count against the bound). Fails once `limitMs` has passed.
 */
async function msUntil(
  check: () => Promise<boolean>,
  limitMs: number,
  since = Date.now(),
): Promise<number> {
  for (;;) {
    const sentAt = Date.now();
    if (await check()) return sentAt - since;
    if (sentAt - since > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const whoamiStatus = async (i: Instance, key: string) =>
  (await i.http().get('/test/whoami').set('X-API-Key', key)).status;

describe('tenancy (Postgres + Redis)', () => {
  let db: TestDatabase;
  let a: Instance;
  const prefix = `tenancy-int-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    db = await createTestDatabase('tenancy');
    a = await startInstance(db, prefix);
  });

  afterAll(async () => {
    await a?.app.close();
    await db?.drop();
  });

  describe('admin tenant API', () => {
    it('creates a tenant with its first key, shown once and stored only as SHA-256', async () => {
      const res = await admin(a).post('/api/v1/admin/tenants', {
        name: 'acme',
        rate_limit: 120,
        monthly_budget: 50.25,
        tokens_per_minute: 5000,
        provider_preferences: ['anthropic', 'openai'],
        allowed_models: ['gpt-4o-mini'],
        cache_ttl_seconds: 600,
        alert_thresholds: [1, 0.5],
        alert_webhook_url: 'https://hooks.example.com/x',
        alert_webhook_secret: 'top-secret-value',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: 'acme',
        rate_limit: 120,
        monthly_budget: 50.25,
        tokens_per_minute: 5000,
        provider_preferences: ['anthropic', 'openai'],
        allowed_models: ['gpt-4o-mini'],
        cache_ttl_seconds: 600,
        alert_thresholds: [0.5, 1],
        alert_webhook_url: 'https://hooks.example.com/x',
        alert_webhook_secret_set: true,
        disabled: false,
        version: 1,
      });
      expect(res.body.tenant_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.key_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.api_key).toMatch(/^llm-gw-[0-9A-Za-z]{32,}$/);
      expect(JSON.stringify(res.body)).not.toContain('top-secret-value');

      const rows: Array<{ key_hash: Buffer; prefix: string }> = await db.dataSource.query(
        'SELECT key_hash, prefix FROM api_keys WHERE tenant_id = $1',
        [res.body.tenant_id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].key_hash.toString('hex')).toBe(
        createHash('sha256').update(res.body.api_key).digest('hex'),
      );
      expect(res.body.api_key.startsWith(rows[0].prefix)).toBe(true);
      const dump = JSON.stringify(await db.dataSource.query('SELECT * FROM api_keys'));
      expect(dump).not.toContain(res.body.api_key);

      const got = await admin(a).get(`/api/v1/admin/tenants/${res.body.tenant_id}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ tenant_id: res.body.tenant_id, monthly_budget: 50.25 });
      expect(got.body).not.toHaveProperty('api_key');
      expect(JSON.stringify(got.body)).not.toContain('top-secret-value');
    });

    it('defaults: unlimited budget, default thresholds, no preferences', async () => {
      const t = await createTenant(a, { monthly_budget: null });
      expect(t).toMatchObject({
        monthly_budget: null,
        alert_thresholds: [0.5, 0.8, 1],
        provider_preferences: [],
        allowed_models: null,
        tokens_per_minute: null,
        cache_ttl_seconds: null,
        alert_webhook_secret_set: false,
      });
    });

    it('refuses bad bodies with 400 invalid_request naming the field, and creates nothing', async () => {
      const before = Number((await db.dataSource.query('SELECT count(*) FROM tenants'))[0].count);
      const cases: Array<[object, string]> = [
        [{ rate_limit: 1, monthly_budget: 1 }, 'name'],
        [{ name: 'x', rate_limit: 'many', monthly_budget: 1 }, 'rate_limit'],
        [{ name: 'x', rate_limit: 1, monthly_budget: -3 }, 'monthly_budget'],
        [{ name: 'x', rate_limit: 1, monthly_budget: 0.000000000001 }, 'monthly_budget'],
        [
          { name: 'x', rate_limit: 1, monthly_budget: 1, provider_preferences: ['nope'] },
          'provider_preferences.0',
        ],
        [
          { name: 'x', rate_limit: 1, monthly_budget: 1, allowed_models: ['gpt-4o-mini', 'nope'] },
          'allowed_models.1',
        ],
        [
          { name: 'x', rate_limit: 1, monthly_budget: 1, alert_thresholds: [0, 1] },
          'alert_thresholds',
        ],
        [
          { name: 'x', rate_limit: 1, monthly_budget: 1, alert_webhook_url: 'file:///etc/passwd' },
          'alert_webhook_url',
        ],
        [
          {
            name: 'x',
            rate_limit: 1,
            monthly_budget: 1,
            alert_webhook_url: 'http://10.0.0.8/hook',
          },
          'alert_webhook_url',
        ],
      ];
      for (const [body, param] of cases) {
        const res = await admin(a).post('/api/v1/admin/tenants', body);
        expect({ param, status: res.status }).toEqual({ param, status: 400 });
        expect(res.body.error).toMatchObject({
          type: 'invalid_request_error',
          code: 'invalid_request',
          param,
        });
        expect(res.body.error.message).toContain(param.split('.')[0]);
      }
      const bad = await a
        .http()
        .post('/api/v1/admin/tenants')
        .set('X-API-Key', ADMIN_KEY)
        .set('Content-Type', 'application/json')
        .send('{"name": ');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
      const after = Number((await db.dataSource.query('SELECT count(*) FROM tenants'))[0].count);
      expect(after).toBe(before);
    });

    it('lists newest first with cursor pagination and no gaps or repeats', async () => {
      const created: string[] = [];
      for (let n = 0; n < 7; n++) created.push((await createTenant(a)).tenant_id);
      const all = await db.dataSource.query<Array<{ id: string }>>(
        'SELECT id FROM tenants ORDER BY created_at DESC, id DESC',
      );

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await admin(a).get(
          `/api/v1/admin/tenants?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...res.body.data.map((t: { tenant_id: string }) => t.tenant_id));
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor !== null && pages < 50);
      expect(seen).toEqual(all.map((r) => r.id));
      expect(seen.slice(0, 7)).toEqual([...created].reverse());

      const defaults = await admin(a).get('/api/v1/admin/tenants');
      expect(defaults.body.data.length).toBe(Math.min(50, all.length));
      expect(defaults.body.next_cursor).toBeNull();
    });

    it('refuses bad list parameters', async () => {
      for (const [query, param] of [
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['limit=abc', 'limit'],
        ['cursor=garbage', 'cursor'],
      ]) {
        const res = await admin(a).get(`/api/v1/admin/tenants?${query}`);
        expect(res.status).toBe(400);
        expect(res.body.error.param).toBe(param);
      }
      expect((await admin(a).get('/api/v1/admin/tenants?limit=500')).status).toBe(200);
    });

    it('updates only the given fields, clears nullable ones with null, bumps version', async () => {
      const t = await createTenant(a, { tokens_per_minute: 100, alert_webhook_secret: 'abc' });
      const res = await admin(a).patch(`/api/v1/admin/tenants/${t.tenant_id}`, {
        rate_limit: 7,
        monthly_budget: null,
        tokens_per_minute: null,
        provider_preferences: ['mock'],
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        tenant_id: t.tenant_id,
        name: t.name,
        rate_limit: 7,
        monthly_budget: null,
        tokens_per_minute: null,
        provider_preferences: ['mock'],
        alert_webhook_secret_set: true,
        version: 2,
      });
      const bad = await admin(a).patch(`/api/v1/admin/tenants/${t.tenant_id}`, {
        allowed_models: ['no-such-model'],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe('allowed_models.0');
      const unknown = await admin(a).patch(`/api/v1/admin/tenants/${t.tenant_id}`, {
        colour: 'red',
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.param).toBe('colour');
      const still = await admin(a).get(`/api/v1/admin/tenants/${t.tenant_id}`);
      expect(still.body).toMatchObject({ rate_limit: 7, version: 2, allowed_models: null });
    });

    it('answers 404 not_found for unknown and malformed tenant ids on every route', async () => {
      for (const id of ['9b0c1a52-6f0e-4c4e-9a53-5f1d2f3e4a5b', 'not-a-uuid', '1']) {
        const base = `/api/v1/admin/tenants/${id}`;
        for (const res of [
          await admin(a).get(base),
          await admin(a).patch(base, { rate_limit: 5 }),
          await admin(a).delete(base),
          await admin(a).post(`${base}/keys`),
          await admin(a).get(`${base}/keys`),
          await admin(a).delete(`${base}/keys/9b0c1a52-6f0e-4c4e-9a53-5f1d2f3e4a5b`),
        ]) {
          expect(res.status).toBe(404);
          expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
        }
      }
    });
  });

  describe('keys and authentication', () => {
    it('issues, lists and revokes keys; a revoked key is refused, others keep working', async () => {
      const t = await createTenant(a);
      const issued = await admin(a).post(`/api/v1/admin/tenants/${t.tenant_id}/keys`);
      expect(issued.status).toBe(201);
      expect(Object.keys(issued.body).sort()).toEqual(['api_key', 'created_at', 'key_id']);
      expect(issued.body.api_key).toMatch(/^llm-gw-[0-9A-Za-z]{32,}$/);

      const list = await admin(a).get(`/api/v1/admin/tenants/${t.tenant_id}/keys`);
      expect(list.status).toBe(200);
      expect(list.body.data.map((k: { key_id: string }) => k.key_id)).toEqual([
        issued.body.key_id,
        t.key_id,
      ]);
      for (const k of list.body.data) {
        expect(Object.keys(k).sort()).toEqual(['created_at', 'key_id', 'prefix', 'revoked_at']);
        expect(k.revoked_at).toBeNull();
      }
      expect(JSON.stringify(list.body)).not.toContain(t.api_key);
      expect(JSON.stringify(list.body)).not.toContain(issued.body.api_key);

      expect(await whoamiStatus(a, t.api_key)).toBe(200);
      expect(await whoamiStatus(a, issued.body.api_key)).toBe(200);

      const revoke = await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`);
      expect(revoke.status).toBe(204);
      expect(revoke.text).toBe('');
      const again = await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`);
      expect(again.status).toBe(204);

      const refused = await a.http().get('/test/whoami').set('X-API-Key', t.api_key);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toMatchObject({
        type: 'authentication_error',
        code: 'invalid_api_key',
      });
      expect(await whoamiStatus(a, issued.body.api_key)).toBe(200);

      const after = await admin(a).get(`/api/v1/admin/tenants/${t.tenant_id}/keys`);
      const revokedRow = after.body.data.find((k: { key_id: string }) => k.key_id === t.key_id);
      expect(revokedRow.revoked_at).not.toBeNull();
    });

    it('cannot revoke or list another tenant’s key through a different tenant id', async () => {
      const t1 = await createTenant(a);
      const t2 = await createTenant(a);
      const res = await admin(a).delete(`/api/v1/admin/tenants/${t2.tenant_id}/keys/${t1.key_id}`);
      expect(res.status).toBe(404);
      expect(await whoamiStatus(a, t1.api_key)).toBe(200);
      const keys2 = await admin(a).get(`/api/v1/admin/tenants/${t2.tenant_id}/keys`);
      expect(keys2.body.data.map((k: { key_id: string }) => k.key_id)).toEqual([t2.key_id]);
    });

    it('takes the tenant from the key only, via X-API-Key or Bearer', async () => {
      const t1 = await createTenant(a);
      const t2 = await createTenant(a);
      const viaHeader = await a
        .http()
        .get('/test/whoami')
        .set('X-API-Key', t1.api_key)
        .set('X-Tenant-Id', t2.tenant_id);
      expect(viaHeader.status).toBe(200);
      expect(viaHeader.body).toMatchObject({ tenantId: t1.tenant_id, apiKeyId: t1.key_id });
      const viaBearer = await a
        .http()
        .get('/test/whoami')
        .set('Authorization', `Bearer ${t2.api_key}`);
      expect(viaBearer.status).toBe(200);
      expect(viaBearer.body.tenantId).toBe(t2.tenant_id);
    });

    it('maps missing, unknown, malformed keys to 401 and wrong scopes to 403', async () => {
      const t = await createTenant(a);
      const cases: Array<[string, Record<string, string>, number, string]> = [
        ['/test/whoami', {}, 401, 'invalid_api_key'],
        ['/test/whoami', { 'X-API-Key': 'garbage' }, 401, 'invalid_api_key'],
        ['/test/whoami', { 'X-API-Key': `llm-gw-${'A'.repeat(43)}` }, 401, 'invalid_api_key'],
        ['/test/whoami', { 'X-API-Key': ADMIN_KEY }, 403, 'wrong_key_scope'],
        ['/api/v1/admin/tenants', { 'X-API-Key': t.api_key }, 403, 'wrong_key_scope'],
        ['/api/v1/admin/tenants', { Authorization: `Bearer ${t.api_key}` }, 403, 'wrong_key_scope'],
        ['/api/v1/admin/tenants', {}, 401, 'invalid_api_key'],
        ['/api/v1/admin/tenants', { 'X-API-Key': `${ADMIN_KEY}x` }, 401, 'invalid_api_key'],
      ];
      for (const [path, headers, status, code] of cases) {
        const res = await a.http().get(path).set(headers);
        expect({ path, headers, status: res.status, code: res.body.error?.code }).toEqual({
          path,
          headers,
          status,
          code,
        });
        expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
      }
      const adminCall = await a
        .http()
        .post(`/api/v1/admin/tenants/${t.tenant_id}/keys`)
        .set('X-API-Key', t.api_key);
      expect(adminCall.status).toBe(403);
    });

    it('raises body errors only after authentication', async () => {
      const t = await createTenant(a);
      const anonymous = await a
        .http()
        .post('/test/echo')
        .set('Content-Type', 'application/json')
        .send('{oops');
      expect(anonymous.status).toBe(401);
      const tenant = await a
        .http()
        .post('/test/echo')
        .set('X-API-Key', t.api_key)
        .set('Content-Type', 'application/json')
        .send('{oops');
      expect(tenant.status).toBe(400);
      expect(tenant.body.error.code).toBe('invalid_request');
    });

    it('disables a tenant: its keys get 403 tenant_disabled; PATCH disabled=false restores', async () => {
      const t = await createTenant(a);
      expect(await whoamiStatus(a, t.api_key)).toBe(200);
      const del = await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}`);
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      const refused = await a.http().get('/test/whoami').set('X-API-Key', t.api_key);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({
        type: 'permission_error',
        code: 'tenant_disabled',
      });
      expect((await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}`)).status).toBe(204);
      const got = await admin(a).get(`/api/v1/admin/tenants/${t.tenant_id}`);
      expect(got.body).toMatchObject({ disabled: true });
      expect(got.body.disabled_at).not.toBeNull();

      const enabled = await admin(a).patch(`/api/v1/admin/tenants/${t.tenant_id}`, {
        disabled: false,
      });
      expect(enabled.body).toMatchObject({ disabled: false, disabled_at: null });
      expect(await whoamiStatus(a, t.api_key)).toBe(200);
    });

    it('creates, lists and revokes admin keys', async () => {
      const created = await admin(a).post('/api/v1/admin/keys', { name: 'ops' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'ops' });
      expect(created.body.api_key).toMatch(/^llm-gw-admin-[0-9A-Za-z]{32,}$/);
      const key: string = created.body.api_key;

      const viaNew = await a.http().get('/api/v1/admin/tenants').set('X-API-Key', key);
      expect(viaNew.status).toBe(200);
      expect((await a.http().get('/test/whoami').set('X-API-Key', key)).status).toBe(403);

      const list = await admin(a).get('/api/v1/admin/keys');
      const row = list.body.data.find((k: { key_id: string }) => k.key_id === created.body.key_id);
      expect(row).toMatchObject({ name: 'ops', revoked_at: null });
      expect(key.startsWith(row.prefix)).toBe(true);
      expect(JSON.stringify(list.body)).not.toContain(key);

      expect((await admin(a).delete(`/api/v1/admin/keys/${created.body.key_id}`)).status).toBe(204);
      expect((await a.http().get('/api/v1/admin/tenants').set('X-API-Key', key)).status).toBe(401);
      expect((await admin(a).delete('/api/v1/admin/keys/nope')).status).toBe(404);
      const bad = await admin(a).post('/api/v1/admin/keys', { name: 5 });
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe('name');
    });
  });

  describe('a second instance', () => {
    it('refuses a key revoked on the first instance within 1 s (pub/sub)', async () => {
      const b = await startInstance(db, prefix);
      try {
        const t = await createTenant(a);
        expect(await whoamiStatus(b, t.api_key)).toBe(200); // warm in b's cache
        const since = Date.now();
        await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`);
        const ms = await msUntil(
          async () => (await whoamiStatus(b, t.api_key)) === 401,
          1000,
          since,
        );
        expect(ms).toBeLessThanOrEqual(1000);
      } finally {
        await b.app.close();
      }
    });

    it('refuses a disabled tenant and sees new limits within 1 s (pub/sub)', async () => {
      const b = await startInstance(db, prefix);
      try {
        const t = await createTenant(a, { rate_limit: 5 });
        const warm = await b.http().get('/test/whoami').set('X-API-Key', t.api_key);
        expect(warm.body.rateLimit).toBe(5);
        await admin(a).patch(`/api/v1/admin/tenants/${t.tenant_id}`, { rate_limit: 9 });
        await msUntil(async () => {
          const res = await b.http().get('/test/whoami').set('X-API-Key', t.api_key);
          return res.body.rateLimit === 9;
        }, 1000);
        await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}`);
        await msUntil(async () => (await whoamiStatus(b, t.api_key)) === 403, 1000);
      } finally {
        await b.app.close();
      }
    });

    it('refuses a revoked key and a disabled tenant within 1 s even without pub/sub', async () => {
      // Another Redis prefix = another channel: b never hears a's messages; only the TTL bounds it.
      const b = await startInstance(db, `${prefix}deaf-`);
      try {
        const t = await createTenant(a);
        const t2 = await createTenant(a);
        expect(await whoamiStatus(b, t.api_key)).toBe(200);
        expect(await whoamiStatus(b, t2.api_key)).toBe(200);
        const revokedAt = Date.now();
        await admin(a).delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`);
        const disabledAt = Date.now();
        await admin(a).delete(`/api/v1/admin/tenants/${t2.tenant_id}`);
        const revokedMs = await msUntil(
          async () => (await whoamiStatus(b, t.api_key)) === 401,
          1000,
          revokedAt,
        );
        const disabledMs = await msUntil(
          async () => (await whoamiStatus(b, t2.api_key)) === 403,
          1000,
          disabledAt,
        );
        expect(revokedMs).toBeLessThanOrEqual(1000);
        expect(disabledMs).toBeLessThanOrEqual(1000);
        // Once refused, always refused.
        expect(await whoamiStatus(b, t.api_key)).toBe(401);
        expect(await whoamiStatus(b, t2.api_key)).toBe(403);
      } finally {
        await b.app.close();
      }
    });

    it('serves warm keys from memory: no Postgres query per request', async () => {
      const t = await createTenant(a);
      const cold = await createTenant(a);
      await admin(a).delete(`/api/v1/admin/tenants/${cold.tenant_id}/keys/${cold.key_id}`);
      // With the key tables locked, any request that reads them hangs; warm ones must not.
      const lock = db.dataSource.createQueryRunner();
      await lock.connect();
      await lock.startTransaction();
      try {
        const warmedAt = Date.now();
        expect(await whoamiStatus(a, t.api_key)).toBe(200);
        await lock.query('LOCK TABLE api_keys, tenants IN ACCESS EXCLUSIVE MODE');
        let served = 0;
        // Stay well inside the 800 ms the cached entry is trusted for.
        while (served < 10 && Date.now() - warmedAt < 500) {
          const res = await a.http().get('/test/whoami').set('X-API-Key', t.api_key).timeout(300);
          expect(res.status).toBe(200);
          served++;
        }
        expect(served).toBeGreaterThan(0);
        // Control: a key this instance has not seen does wait for Postgres.
        const blocked = await a
          .http()
          .get('/test/whoami')
          .set('X-API-Key', cold.api_key)
          .timeout(300)
          .then(
            () => 'answered',
            () => 'timed out',
          );
        expect(blocked).toBe('timed out');
      } finally {
        await lock.rollbackTransaction();
        await lock.release();
      }
    });
  });
});
