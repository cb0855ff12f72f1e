import { randomBytes } from 'node:crypto';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { spawnGateway, type GatewayProcess } from '../support/process';

/**
 * Tenancy through the real app over HTTP: every admin tenant/key route, key scopes on every
 * route family, tenant isolation of keys, and revocation on two instances within 1 s.
 */

const COMPLETION = {
  model: 'mock-model',
  messages: [{ role: 'user', content: 'ping' }],
  max_tokens: 5,
};

/** When the passing check was sent, in ms after `since`; throws after `limitMs`. */
async function msUntil(check: () => Promise<boolean>, since: number, limitMs = 1000) {
  for (;;) {
    const sentAt = Date.now();
    if (await check()) return sentAt - since;
    if (sentAt - since > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('tenancy (e2e)', () => {
  let gw: TestGateway;
  const asAdmin = () => ({
    get: (p: string) => gw.http().get(p).set('X-API-Key', gw.adminKey),
    post: (p: string, b?: object) => gw.http().post(p).set('X-API-Key', gw.adminKey).send(b),
    patch: (p: string, b: object) => gw.http().patch(p).set('X-API-Key', gw.adminKey).send(b),
    delete: (p: string) => gw.http().delete(p).set('X-API-Key', gw.adminKey),
  });
  const complete = (key: string) =>
    gw.http().post('/api/v1/completions').set('X-API-Key', key).send(COMPLETION);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('walks every admin tenant and key route', async () => {
    const created = await asAdmin().post('/api/v1/admin/tenants', {
      name: 'walkthrough',
      rate_limit: 50,
      monthly_budget: 12.5,
      allowed_models: ['mock-model'],
    });
    expect(created.status).toBe(201);
    const t = created.body as CreatedTenant;
    expect(t).toMatchObject({ name: 'walkthrough', rate_limit: 50, monthly_budget: 12.5 });
    expect(t.api_key).toMatch(/^llm-gw-[0-9A-Za-z]{32,}$/);

    const ok = await complete(t.api_key);
    expect(ok.status).toBe(200);

    const list = await asAdmin().get('/api/v1/admin/tenants?limit=500');
    expect(list.status).toBe(200);
    expect(list.body).toHaveProperty('next_cursor');
    expect(list.body.data.map((x: { tenant_id: string }) => x.tenant_id)).toContain(t.tenant_id);

    const one = await asAdmin().get(`/api/v1/admin/tenants/${t.tenant_id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ tenant_id: t.tenant_id, monthly_budget: 12.5 });
    expect(one.body).not.toHaveProperty('api_key');

    const patched = await asAdmin().patch(`/api/v1/admin/tenants/${t.tenant_id}`, {
      rate_limit: 60,
      monthly_budget: 20,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ rate_limit: 60, monthly_budget: 20, version: 2 });

    const issued = await asAdmin().post(`/api/v1/admin/tenants/${t.tenant_id}/keys`);
    expect(issued.status).toBe(201);
    expect(Object.keys(issued.body).sort()).toEqual(['api_key', 'created_at', 'key_id']);
    expect((await complete(issued.body.api_key)).status).toBe(200);

    const keys = await asAdmin().get(`/api/v1/admin/tenants/${t.tenant_id}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.body.data).toHaveLength(2);
    expect(JSON.stringify(keys.body)).not.toContain(t.api_key);

    const revoked = await asAdmin().delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`);
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    const refused = await complete(t.api_key);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({
      type: 'authentication_error',
      code: 'invalid_api_key',
    });
    expect((await complete(issued.body.api_key)).status).toBe(200);

    const disabled = await asAdmin().delete(`/api/v1/admin/tenants/${t.tenant_id}`);
    expect(disabled.status).toBe(204);
    const off = await complete(issued.body.api_key);
    expect(off.status).toBe(403);
    expect(off.body.error).toMatchObject({ type: 'permission_error', code: 'tenant_disabled' });

    // The disabled tenant's refusal is audited under the tenant and the key that made it.
    const audit = await asAdmin().get(`/api/v1/admin/audit?tenant_id=${t.tenant_id}&limit=500`);
    expect(audit.status).toBe(200);
    const refusal = audit.body.data.find(
      (r: { request_id: string }) => r.request_id === off.headers['x-request-id'],
    );
    expect(refusal).toMatchObject({
      tenant_id: t.tenant_id,
      api_key_id: issued.body.key_id,
      status_code: 403,
      outcome: 'forbidden',
      error_code: 'tenant_disabled',
    });
  });

  it('reports this month’s spend on the tenant read', async () => {
    const t = await createTenant(gw, { monthly_budget: 5 });
    expect((await complete(t.api_key)).status).toBe(200);
    const one = await asAdmin().get(`/api/v1/admin/tenants/${t.tenant_id}`);
    expect(one.body.spend_usd).toBeGreaterThan(0);
    expect(one.body.remaining_usd).toBeLessThan(5);
  });

  it('refuses tenant keys on every admin route and admin keys on every tenant route', async () => {
    const t = await createTenant(gw);
    const adminRoutes: Array<[string, string]> = [
      ['get', '/api/v1/admin/tenants'],
      ['post', '/api/v1/admin/tenants'],
      ['get', `/api/v1/admin/tenants/${t.tenant_id}`],
      ['patch', `/api/v1/admin/tenants/${t.tenant_id}`],
      ['delete', `/api/v1/admin/tenants/${t.tenant_id}`],
      ['post', `/api/v1/admin/tenants/${t.tenant_id}/keys`],
      ['get', `/api/v1/admin/tenants/${t.tenant_id}/keys`],
      ['delete', `/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`],
      ['get', `/api/v1/admin/tenants/${t.tenant_id}/usage`],
      ['get', '/api/v1/admin/usage'],
      ['get', '/api/v1/admin/audit'],
      ['delete', '/api/v1/admin/cache'],
      ['get', '/api/v1/admin/providers'],
      ['get', '/api/v1/admin/models'],
      ['get', '/api/v1/admin/keys'],
      ['post', '/api/v1/admin/keys'],
    ];
    for (const [method, path] of adminRoutes) {
      for (const header of [{ 'X-API-Key': t.api_key }, { Authorization: `Bearer ${t.api_key}` }]) {
        const res = await gw.http()[method as 'get'](path).set(header).send({});
        expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({
          method,
          path,
          status: 403,
          code: 'wrong_key_scope',
        });
      }
      const anonymous = await gw.http()[method as 'get'](path).send({});
      expect({ path, status: anonymous.status }).toEqual({ path, status: 401 });
    }
    // The tenant is untouched by all of that.
    expect((await complete(t.api_key)).status).toBe(200);

    const tenantRoutes: Array<[string, string]> = [
      ['post', '/api/v1/completions'],
      ['post', '/v1/chat/completions'],
      ['post', '/api/v1/chat/completions'],
      ['get', '/v1/models'],
      ['get', '/api/v1/usage'],
      ['delete', '/api/v1/cache'],
    ];
    for (const [method, path] of tenantRoutes) {
      const res = await gw.http()[method as 'get'](path).set('X-API-Key', gw.adminKey).send({});
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({
        path,
        status: 403,
        code: 'wrong_key_scope',
      });
      const unknown = await gw
        .http()
        [method as 'get'](path)
        .set('Authorization', `Bearer llm-gw-${'Z'.repeat(43)}`)
        .send({});
      expect({ path, status: unknown.status }).toEqual({ path, status: 401 });
    }
  });

  it('isolates tenants: a key is one tenant’s, whatever else the request says', async () => {
    const a = await createTenant(gw, { allowed_models: ['mock-model'] });
    const b = await createTenant(gw, { allowed_models: ['gpt-4o-mini'] });
    const models = await gw
      .http()
      .get('/v1/models')
      .set('X-API-Key', a.api_key)
      .set('X-Tenant-Id', b.tenant_id);
    expect(models.status).toBe(200);
    expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(['mock-model']);

    // Revoking one of b's keys through a's tenant id is not possible, and does not touch b.
    const cross = await asAdmin().delete(`/api/v1/admin/tenants/${a.tenant_id}/keys/${b.key_id}`);
    expect(cross.status).toBe(404);
    expect((await gw.http().get('/v1/models').set('X-API-Key', b.api_key)).status).toBe(200);
    const aKeys = await asAdmin().get(`/api/v1/admin/tenants/${a.tenant_id}/keys`);
    expect(aKeys.body.data.map((k: { key_id: string }) => k.key_id)).toEqual([a.key_id]);

    // Revoking a's key leaves b working.
    await asAdmin().delete(`/api/v1/admin/tenants/${a.tenant_id}/keys/${a.key_id}`);
    expect((await gw.http().get('/v1/models').set('X-API-Key', a.api_key)).status).toBe(401);
    expect((await gw.http().get('/v1/models').set('X-API-Key', b.api_key)).status).toBe(200);
  });

  it('answers 404 not_found for unknown and malformed ids, and 400 naming the field', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'abc']) {
      const res = await asAdmin().get(`/api/v1/admin/tenants/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    }
    const bad = await asAdmin().post('/api/v1/admin/tenants', {
      name: 'x',
      rate_limit: 10,
      monthly_budget: 1,
      provider_preferences: ['no-such-provider'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'provider_preferences.0',
    });
  });

  it('documents the tenancy routes with their security in /docs-json', async () => {
    const doc = (await gw.http().get('/docs-json')).body;
    const paths = doc.paths as Record<string, Record<string, { security?: unknown[] }>>;
    for (const p of [
      '/api/v1/admin/tenants',
      '/api/v1/admin/tenants/{id}',
      '/api/v1/admin/tenants/{id}/keys',
      '/api/v1/admin/tenants/{id}/keys/{key_id}',
      '/api/v1/admin/keys',
    ]) {
      expect(paths[p]).toBeDefined();
      for (const op of Object.values(paths[p])) {
        expect(op.security).toEqual([{ 'admin-key': [] }]);
      }
    }
    const create = paths['/api/v1/admin/tenants'] as unknown as {
      post: { requestBody: unknown; responses: Record<string, unknown> };
    };
    expect(create.post.requestBody).toBeDefined();
    expect(create.post.responses['201']).toBeDefined();
  });
});

describe('revocation across two instances (e2e)', () => {
  let first: TestGateway;
  let second: TestGateway;

  beforeAll(async () => {
    first = await startGateway();
    second = await startGateway({
      database: first.database,
      redisKeyPrefix: first.redisKeyPrefix,
      env: { ADMIN_API_KEY: first.adminKey },
    });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  const status = async (gw: TestGateway, key: string) =>
    (await gw.http().post('/api/v1/completions').set('X-API-Key', key).send(COMPLETION)).status;

  it('refuses on the second instance, within 1 s, a key revoked on the first', async () => {
    const t = await createTenant(first);
    expect(await status(second, t.api_key)).toBe(200);
    const since = Date.now();
    const res = await first
      .http()
      .delete(`/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`)
      .set('X-API-Key', first.adminKey);
    expect(res.status).toBe(204);
    const ms = await msUntil(async () => (await status(second, t.api_key)) === 401, since);
    expect(ms).toBeLessThanOrEqual(1000);
  });

  it('refuses on the second instance, within 1 s, a tenant disabled on the first', async () => {
    const t = await createTenant(first);
    expect(await status(second, t.api_key)).toBe(200);
    const since = Date.now();
    await first
      .http()
      .delete(`/api/v1/admin/tenants/${t.tenant_id}`)
      .set('X-API-Key', first.adminKey);
    const ms = await msUntil(async () => (await status(second, t.api_key)) === 403, since);
    expect(ms).toBeLessThanOrEqual(1000);
  });
});

describe('revocation across two gateway processes (e2e)', () => {
  let p1: GatewayProcess;
  let p2: GatewayProcess;
  let gwForDb: TestGateway;
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;

  beforeAll(async () => {
    // An in-process instance only to create (and later drop) a migrated database.
    gwForDb = await startGateway({ env: { ADMIN_API_KEY: adminKey } });
    const env = {
      DATABASE_URL: gwForDb.database.url,
      REDIS_KEY_PREFIX: `tp${randomBytes(4).toString('hex')}:`,
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: 'warn',
    };
    [p1, p2] = await Promise.all([spawnGateway(env), spawnGateway(env)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([p1?.stop(), p2?.stop()]);
    await gwForDb?.close();
  });

  it('a key revoked through one process is refused by the other within 1 s', async () => {
    const created = await fetch(`${p1.url}/api/v1/admin/tenants`, {
      method: 'POST',
      headers: { 'X-API-Key': adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'two-procs', rate_limit: 1000, monthly_budget: 10 }),
    });
    expect(created.status).toBe(201);
    const t = (await created.json()) as CreatedTenant;
    const call = async () =>
      (
        await fetch(`${p2.url}/api/v1/completions`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${t.api_key}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(COMPLETION),
        })
      ).status;
    expect(await call()).toBe(200);
    const since = Date.now();
    const del = await fetch(`${p1.url}/api/v1/admin/tenants/${t.tenant_id}/keys/${t.key_id}`, {
      method: 'DELETE',
      headers: { 'X-API-Key': adminKey },
    });
    expect(del.status).toBe(204);
    const ms = await msUntil(async () => (await call()) === 401, since);
    expect(ms).toBeLessThanOrEqual(1000);
    const output = p1.output() + p2.output();
    expect(output).not.toContain(t.api_key);
    expect(output).not.toContain(adminKey);
  });
});
