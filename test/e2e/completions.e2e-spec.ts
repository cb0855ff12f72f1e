import OpenAI from 'openai';
import type { Test } from 'supertest';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';

interface AuditRecord {
  request_id: string;
  cost: number;
  [field: string]: unknown;
}

/** Reads a tenant's audit records through the admin API (newest first). */
async function auditOf(gw: TestGateway, tenantId: string): Promise<AuditRecord[]> {
  const res = await gw
    .http()
    .get(`/api/v1/admin/audit?tenant_id=${tenantId}&limit=500`)
    .set('X-API-Key', gw.adminKey);
  expect(res.status).toBe(200);
  return res.body.data;
}

describe('completions (e2e, mock provider)', () => {
  let gw: TestGateway;
  let tenant: CreatedTenant;

  beforeAll(async () => {
    gw = await startGateway();
    tenant = await createTenant(gw, { rate_limit: 1000, monthly_budget: 50 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const body = {
    model: 'mock-model',
    messages: [{ role: 'user', content: 'Hello, how are you?' }],
    max_tokens: 50,
  };

  it('answers POST /api/v1/completions in the documented shape (docs/api.md §3.1) with an exact cost', async () => {
    const res = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', tenant.api_key)
      .set('Cache-Control', 'no-store')
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      cached: false,
      response: { model: 'mock-model', provider: 'mock' },
    });
    const r = res.body.response;
    expect(typeof r.content).toBe('string');
    expect(r.content.length).toBeGreaterThan(0);
    expect(r.total_tokens).toBe(r.prompt_tokens + r.completion_tokens);
    // mock/mock-1 costs $1 in / $2 out per 1M tokens: 1e-6 and 2e-6 per token, exactly.
    const expected = (r.prompt_tokens * 10_000 + r.completion_tokens * 20_000) / 1e10;
    expect(res.body.cost).toBe(Number(expected.toFixed(10)));
    expect(res.body.rate_limit_remaining).toBe(999);
    expect(typeof res.body.latency_ms).toBe('number');
    expect(res.headers['x-request-id']).toBe(res.body.request_id);
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(res.headers['x-gateway-provider']).toBe('mock');
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.headers['x-ratelimit-limit']).toBe('1000');
    expect(res.headers['x-ratelimit-remaining']).toBe('999');
  });

  it('works with the official openai SDK, changing only baseURL and apiKey', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'mock-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hi' },
      ],
      max_tokens: 20,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('mock-model');
    expect(completion.choices[0].message.role).toBe('assistant');
    expect(completion.choices[0].message.content).toEqual(expect.any(String));
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('mock-model');

    // SDK errors surface the gateway's message and code.
    await expect(
      client.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers the same through the fast route and through Express', async () => {
    const t = await createTenant(gw, { rate_limit: 100 });
    const call = (path: string) =>
      gw.http().post(path).set('X-API-Key', t.api_key).set('Cache-Control', 'no-store').send(body);
    const shape = (res: Awaited<ReturnType<typeof call>>) => ({
      status: res.status,
      contentType: res.headers['content-type'],
      headers: Object.keys(res.headers)
        .filter((h) => h.startsWith('x-') || h === 'cache-control')
        .sort(),
      cacheControl: res.headers['cache-control'],
      xCache: res.headers['x-cache'],
      keys: Object.keys(res.body as object).sort(),
      content: (res.body as { choices?: Array<{ message: unknown }> }).choices?.[0]?.message,
    });
    for (const [fast, general] of [
      ['/v1/chat/completions', '/v1/chat/completions/'],
      ['/api/v1/chat/completions', '/api/v1/chat/completions/'],
      ['/api/v1/completions', '/api/v1/completions/'],
    ]) {
      const a = await call(fast);
      const b = await call(general);
      expect(a.status).toBe(200);
      expect(shape(a)).toEqual(shape(b));
      expect(a.headers['x-request-id']).toBe(
        (a.body as { request_id?: string }).request_id ?? a.headers['x-request-id'],
      );
    }
    // Six requests, six records, each under its own path.
    const records = await auditOf(gw, t.tenant_id);
    expect(records.map((r) => r.endpoint).sort()).toEqual(
      [
        '/api/v1/chat/completions',
        '/api/v1/chat/completions/',
        '/api/v1/completions',
        '/api/v1/completions/',
        '/v1/chat/completions',
        '/v1/chat/completions/',
      ].sort(),
    );
  });

  it('serves the OpenAI format at /api/v1/chat/completions too', async () => {
    const res = await gw
      .http()
      .post('/api/v1/chat/completions')
      .set('Authorization', `Bearer ${tenant.api_key}`)
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('chat.completion');
  });

  it('lists only the models a tenant may use', async () => {
    const limited = await createTenant(gw, { allowed_models: ['mock-model'] });
    const res = await gw.http().get('/v1/models').set('X-API-Key', limited.api_key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'list',
      data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'llm-gateway' }],
    });
    const denied = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', limited.api_key)
      .send({ ...body, model: 'gpt-4o-mini' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('model_not_allowed');
  });

  describe('bad input gets a clear 4xx, changes nothing, and is audited', () => {
    const cases: Array<[string, (r: Test) => Test, number, string, string | null]> = [
      [
        'invalid JSON',
        (r) => r.set('Content-Type', 'application/json').send('{"model": '),
        400,
        'invalid_request',
        null,
      ],
      [
        'wrong type',
        (r) => r.send({ ...body, temperature: 'warm' }),
        400,
        'invalid_request',
        'temperature',
      ],
      [
        'missing messages',
        (r) => r.send({ model: 'mock-model' }),
        400,
        'invalid_request',
        'messages',
      ],
      [
        'unknown role',
        (r) => r.send({ ...body, messages: [{ role: 'wizard', content: 'x' }] }),
        400,
        'invalid_request',
        'messages.0.role',
      ],
      [
        'empty messages',
        (r) => r.send({ ...body, messages: [] }),
        400,
        'invalid_request',
        'messages',
      ],
      [
        'unknown model',
        (r) => r.send({ ...body, model: 'gpt-17' }),
        404,
        'model_not_found',
        'model',
      ],
      [
        'absurd max_tokens',
        (r) => r.send({ ...body, max_tokens: 999_999 }),
        400,
        'invalid_request',
        'max_tokens',
      ],
      [
        'NUL in content',
        (r) => r.send({ ...body, messages: [{ role: 'user', content: 'a\u0000b' }] }),
        400,
        'invalid_request',
        'messages.0.content',
      ],
      [
        'stream: "yes"',
        (r) => r.send({ ...body, stream: 'yes' }),
        400,
        'invalid_request',
        'stream',
      ],
      [
        'non-UTF-8 bytes',
        (r) =>
          r
            .set('Content-Type', 'application/json')
            // Send the bytes as they are (superagent would JSON-encode a Buffer).
            .serialize((bytes: unknown) => bytes as string)
            .send(
              Buffer.concat([
                Buffer.from('{"model":"mock-model","messages":[{"role":"user","content":"'),
                Buffer.from([0xff, 0xfe]),
                Buffer.from('"}]}'),
              ]),
            ),
        400,
        'invalid_request',
        null,
      ],
      [
        'oversized body',
        (r) => r.send({ ...body, messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] }),
        413,
        'request_too_large',
        null,
      ],
    ];

    // Plain JSON POSTs to the exact path take the fast route (libs/http installFastRoutes); the
    // trailing-slash spelling of the same route goes through Express and Nest. Both must agree.
    const paths = [
      ['fast route', '/api/v1/completions'],
      ['Express path', '/api/v1/completions/'],
    ];
    const matrix = paths.flatMap(([via, path]) =>
      cases.map(([name, ...rest]) => [`${name} (${via})`, path, ...rest] as const),
    );

    it.each(matrix)('%s', async (_name, path, send, status, code, param) => {
      const t = await createTenant(gw, { rate_limit: 5 });
      const res = await send(gw.http().post(path).set('X-API-Key', t.api_key));
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({
        code,
        param,
        request_id: res.headers['x-request-id'],
      });
      expect(typeof res.body.error.message).toBe('string');
      // A body that could not be read (param null) ends its connection, on either path.
      if (param === null) expect(res.headers.connection).toBe('close');
      // Nothing changed: no slot taken (docs/api.md §4 and §7), no spend.
      const ok = await gw.http().post('/api/v1/completions').set('X-API-Key', t.api_key).send(body);
      expect(ok.status).toBe(200);
      expect(ok.body.rate_limit_remaining).toBe(4);
      const records = await auditOf(gw, t.tenant_id);
      expect(records).toHaveLength(2);
      expect(records[1]).toMatchObject({ status_code: status, error_code: code, cost: 0 });
    });
  });

  describe('authentication and request ids', () => {
    it('refuses missing, unknown and malformed keys with 401', async () => {
      for (const headers of [
        {},
        { 'X-API-Key': 'llm-gw-unknownunknownunknownunknownunknown' },
        { Authorization: 'Bearer nope' },
      ]) {
        const res = await gw.http().post('/api/v1/completions').set(headers).send(body);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatchObject({
          type: 'authentication_error',
          code: 'invalid_api_key',
        });
      }
    });

    it('refuses the admin key on a tenant route and a tenant key on an admin route with 403', async () => {
      const a = await gw
        .http()
        .post('/api/v1/completions')
        .set('X-API-Key', gw.adminKey)
        .send(body);
      expect([a.status, a.body.error.code]).toEqual([403, 'wrong_key_scope']);
      const b = await gw.http().get('/api/v1/admin/tenants').set('X-API-Key', tenant.api_key);
      expect([b.status, b.body.error.code]).toEqual([403, 'wrong_key_scope']);
    });

    it('keeps a sane client X-Request-Id and replaces anything else', async () => {
      const kept = await gw
        .http()
        .get('/v1/models')
        .set('X-API-Key', tenant.api_key)
        .set('X-Request-Id', 'trace.abc:123-x_y');
      expect(kept.headers['x-request-id']).toBe('trace.abc:123-x_y');
      const replaced = await gw
        .http()
        .get('/v1/models')
        .set('X-API-Key', tenant.api_key)
        .set('X-Request-Id', 'bad id with spaces');
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('answers unknown routes with the JSON error shape', async () => {
      const res = await gw.http().get('/api/v1/nope');
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({
        type: 'not_found_error',
        code: 'not_found',
        request_id: res.headers['x-request-id'],
      });
    });
  });

  it('writes exactly one audit record per tenant request, before the response', async () => {
    const t = await createTenant(gw);
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        gw
          .http()
          .post('/api/v1/completions')
          .set('X-API-Key', t.api_key)
          .set('Cache-Control', 'no-store')
          .send({ ...body, messages: [{ role: 'user', content: `q${i}` }] }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const records = await auditOf(gw, t.tenant_id);
    expect(records).toHaveLength(n);
    expect(new Set(records.map((r) => r.request_id))).toEqual(
      new Set(results.map((r) => r.body.request_id)),
    );
    const totalCost = results.reduce((s, r) => s + Math.round(r.body.cost * 1e10), 0);
    expect(records.reduce((s, r) => s + Math.round(r.cost * 1e10), 0)).toBe(totalCost);
    for (const r of records) {
      expect(r).toMatchObject({
        tenant_id: t.tenant_id,
        api_key_id: t.key_id,
        outcome: 'success',
        provider: 'mock',
        model: 'mock-model',
      });
      expect(r.api_key_id).toBe(t.key_id);
      expect(r.attempts).toEqual([
        { provider: 'mock', outcome: 'success', latency_ms: expect.any(Number) },
      ]);
    }
  });
});
