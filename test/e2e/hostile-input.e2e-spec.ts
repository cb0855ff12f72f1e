import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { request } from 'node:http';
import type { AuditRow } from '@gateway/audit';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';

/*
 * What a hostile or careless client can send, against the real app: every answer is a 4xx in the
 * JSON error shape, never a 5xx, and nothing one tenant sends disturbs another's records.
 */

interface Reply {
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies, read by the assertions
  body: any;
}

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes raw bytes on a fresh connection and reads the reply until the server closes it. */
function raw(url: string, bytes: string | Buffer): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer from the gateway')));
    socket.write(bytes);
  });
}

function expectJsonError(r: { status: number; headers: Record<string, string>; body: unknown }) {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as {
    error: Record<string, unknown>;
  };
  expect(body.error).toEqual(
    expect.objectContaining({
      message: expect.any(String),
      type: expect.any(String),
      code: expect.any(String),
      request_id: r.headers['x-request-id'],
    }),
  );
  return body.error;
}

describe('hostile input (e2e)', () => {
  let gw: TestGateway;
  let t: CreatedTenant;
  const ask = { model: 'mock-model', messages: [{ role: 'user', content: 'hello' }] };

  /** A POST with exactly these bytes (supertest re-encodes Buffer bodies sent as JSON). */
  const post = (
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(gw.url);
      const req = request(
        {
          host: hostname,
          port,
          path,
          method: 'POST',
          headers: {
            'X-API-Key': t.api_key,
            'Content-Type': 'application/json',
            'Content-Length': String(Buffer.byteLength(body)),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Record<string, string>,
              body: text === '' ? {} : JSON.parse(text),
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const admin = (method: 'get' | 'delete', path: string) =>
    gw.http()[method](path).set('X-API-Key', gw.adminKey);

  async function auditOf(requestId: string): Promise<AuditRow | undefined> {
    const res = await admin('get', `/api/v1/admin/audit?tenant_id=${t.tenant_id}&limit=500`);
    expect(res.status).toBe(200);
    return (res.body.data as AuditRow[]).find((r) => r.request_id === requestId);
  }

  beforeAll(async () => {
    gw = await startGateway();
    t = await createTenant(gw, { rate_limit: 100_000, monthly_budget: null });
  });
  afterAll(async () => {
    await gw?.close();
  });

  describe('strings Postgres cannot store', () => {
    it('a NUL in the model is a 400 naming it, with its record written, on the fast route', async () => {
      const res = await post('/api/v1/completions', JSON.stringify({ ...ask, model: 'x\u0000y' }));
      expect(res.status).toBe(400);
      expect(expectJsonError(res)).toMatchObject({
        type: 'invalid_request_error',
        param: 'model',
      });
      const row = await auditOf(res.headers['x-request-id']);
      expect(row).toMatchObject({ outcome: 'invalid_request', status_code: 400 });
      // The next request of the same tenant is unaffected.
      expect((await post('/api/v1/completions', JSON.stringify(ask))).status).toBe(200);
    });

    it('NUL or a lone surrogate anywhere is a 400 naming the field, on the Express path too', async () => {
      const cases: Array<[object, string]> = [
        [{ ...ask, model: 'a\u0000' }, 'model'],
        [{ ...ask, user: '\u0000' }, 'user'],
        [{ ...ask, messages: [{ role: 'user', content: 'a\ud800b' }] }, 'messages.0.content'],
        [{ ...ask, stop: ['ok', '\u0000'] }, 'stop.1'],
      ];
      for (const [body, param] of cases) {
        const json = JSON.stringify(body);
        // Plain JSON takes the fast route; gzip and chunked bodies go through Express.
        const replies = await Promise.all([
          post('/v1/chat/completions', json),
          post('/v1/chat/completions', gzipSync(json), { 'Content-Encoding': 'gzip' }),
          post('/api/v1/chat/completions/', json),
        ]);
        for (const r of replies) {
          expect([param, r.status, r.body.error?.param]).toEqual([param, 400, param]);
        }
      }
    });

    it('a NUL or control character in a tenant name is a 400, on create and update', async () => {
      const create = (name: string) =>
        gw
          .http()
          .post('/api/v1/admin/tenants')
          .set('X-API-Key', gw.adminKey)
          .send({ name, rate_limit: 10, monthly_budget: 1 });
      for (const name of ['acme\u0000', 'acme\nforged log line', 'a\u007fb']) {
        const res = await create(name);
        expect([res.status, res.body.error.param]).toEqual([400, 'name']);
      }
      const update = await gw
        .http()
        .patch(`/api/v1/admin/tenants/${t.tenant_id}`)
        .set('X-API-Key', gw.adminKey)
        .send({ name: 'x\u0000', allowed_models: ['mock-model'] });
      expect([update.status, update.body.error.param]).toEqual([400, 'name']);
      const hook = await gw
        .http()
        .patch(`/api/v1/admin/tenants/${t.tenant_id}`)
        .set('X-API-Key', gw.adminKey)
        .send({ alert_webhook_url: 'https://hooks.example.com/\u0000' });
      expect([hook.status, hook.body.error.param]).toEqual([400, 'alert_webhook_url']);
    });
  });

  describe('deep nesting', () => {
    it('a body nested 100,000 levels deep is a 400 on an admin DTO route, not a stack overflow', async () => {
      const deep = `{"name":${'['.repeat(100_000)}${']'.repeat(100_000)},"rate_limit":1,"monthly_budget":1}`;
      const res = await gw
        .http()
        .post('/api/v1/admin/tenants')
        .set('X-API-Key', gw.adminKey)
        .set('Content-Type', 'application/json')
        .send(deep);
      expect([res.status, res.body.error?.code]).toEqual([400, 'invalid_request']);
      expect(res.body.error.param).toMatch(/^name(\.0)+…$/);
    });

    it('and on the completion routes, both ways in', async () => {
      const deep = `{"model":"mock-model","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const replies = await Promise.all([
        post('/api/v1/completions', deep),
        post('/api/v1/completions', gzipSync(deep), { 'Content-Encoding': 'gzip' }),
      ]);
      expect(replies.map((r) => r.status)).toEqual([400, 400]);
      // Refused by the depth scan before JSON.parse (not by validation after it), naming where.
      for (const r of replies) {
        expect(expectJsonError(r)).toMatchObject({ code: 'invalid_request' });
        expect(r.body.error.message).toContain('nested too deeply');
        expect(r.body.error.param).toMatch(/^messages(\.0)+…$/);
      }
    });
  });

  describe('Content-Encoding', () => {
    const junk = Buffer.from('this is not compressed at all');
    it.each(['gzip', 'deflate', 'br'])('a corrupt %s body is a 400', async (encoding) => {
      const res = await post('/api/v1/completions', junk, { 'Content-Encoding': encoding });
      expect(res.status).toBe(400);
      expect(expectJsonError(res)).toMatchObject({ code: 'invalid_request' });
    });

    it('a truncated gzip body is a 400', async () => {
      const cut = gzipSync(JSON.stringify(ask)).subarray(0, 12);
      const res = await post('/api/v1/completions', cut, { 'Content-Encoding': 'gzip' });
      expect(res.status).toBe(400);
    });

    it.each(['compress', 'zstd', 'gzip, gzip'])('Content-Encoding %s is a 415', async (enc) => {
      const res = await post('/api/v1/completions', junk, { 'Content-Encoding': enc });
      expect(res.status).toBe(415);
      expect(expectJsonError(res)).toMatchObject({
        type: 'invalid_request_error',
        code: 'unsupported_media_type',
      });
    });

    it('valid compressed bodies are still served', async () => {
      const json = JSON.stringify(ask);
      const bodies: Array<[string, Buffer]> = [
        ['gzip', gzipSync(json)],
        ['deflate', deflateSync(json)],
        ['br', brotliCompressSync(json)],
      ];
      for (const [enc, body] of bodies) {
        const res = await post('/api/v1/completions', body, { 'Content-Encoding': enc });
        expect([enc, res.status]).toEqual([enc, 200]);
      }
    });
  });

  describe('HTTP parser errors', () => {
    const expectRaw = (r: RawReply, status: number, code: string) => {
      expect(r.status).toBe(status);
      expect(expectJsonError(r)).toMatchObject({ type: 'invalid_request_error', code });
    };

    it('a header section over the limit is a JSON 431', async () => {
      const r = await raw(
        gw.url,
        `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expectRaw(r, 431, 'headers_too_large');
    });

    it.each([
      ['a bare CR in a header value', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
      ['a bare LF inside the header section', 'GET /health HTTP/1.1\r\nHost: x\nX-A\r\n\r\n'],
      [
        'Content-Length with Transfer-Encoding',
        'POST /api/v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n' +
          'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ],
      ['a malformed request line', 'GET /health HTTP/9.Z\r\nHost: x\r\n\r\n'],
      ['an invalid method', 'G(T /health HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['a NUL in the request target', 'GET /he\u0000alth HTTP/1.1\r\nHost: x\r\n\r\n'],
    ])('%s is a JSON 400', async (_what, bytes) => {
      expectRaw(await raw(gw.url, bytes), 400, 'invalid_request');
    });

    it('the gateway keeps serving after them', async () => {
      expect((await gw.http().get('/health/live')).status).toBe(200);
    });
  });

  describe('strict queries', () => {
    it.each([
      ['/api/v1/admin/audit?tenant_id[$ne]=x', 'tenant_id[$ne]'],
      ['/api/v1/admin/audit?tenant_id%5B%24ne%5D=x', 'tenant_id[$ne]'],
      ['/api/v1/admin/audit?limit=1&limit=2', 'limit'],
      ['/api/v1/admin/audit?tenant=x', 'tenant'],
      ['/api/v1/admin/usage?group_by=tenant&group_by=model', 'group_by'],
      ['/api/v1/admin/usage?format[]=csv', 'format[]'],
      ['/api/v1/admin/tenants?limit=5&offset=10', 'offset'],
      ['/api/v1/admin/tenants?limit[gt]=5', 'limit[gt]'],
      ['/api/v1/admin/providers?verbose=1', 'verbose'],
      ['/api/v1/admin/audit?model=gpt%00x', 'model'],
      ['/api/v1/admin/audit?provider=%00', 'provider'],
    ])('admin GET %s is a 400 naming %s', async (path, param) => {
      const res = await admin('get', path);
      expect([res.status, res.body.error?.param]).toEqual([400, param]);
      expect(res.body.error.type).toBe('invalid_request_error');
    });

    it('a tenant id in bracket form can no longer list every tenant', async () => {
      const res = await admin(
        'get',
        '/api/v1/admin/audit?tenant_id[$ne]=00000000-0000-0000-0000-000000000000',
      );
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
    });

    it('cache flush and tenant routes refuse them too (and the tenant request is audited)', async () => {
      const flush = await admin('delete', `/api/v1/admin/cache?tenant_id=${t.tenant_id}&x=1`);
      expect([flush.status, flush.body.error?.param]).toEqual([400, 'x']);
      const usage = await gw.http().get('/api/v1/usage?days=1&days=2').set('X-API-Key', t.api_key);
      expect([usage.status, usage.body.error?.param]).toEqual([400, 'days']);
      const completion = await post('/api/v1/completions?api-version=1', JSON.stringify(ask));
      expect([completion.status, completion.body.error?.param]).toEqual([400, 'api-version']);
      expect(await auditOf(completion.headers['x-request-id'])).toMatchObject({
        outcome: 'invalid_request',
      });
    });

    it('declared parameters still work', async () => {
      expect((await admin('get', '/api/v1/admin/audit?limit=1&status=success')).status).toBe(200);
      expect((await admin('get', '/api/v1/admin/usage?group_by=tenant,model')).status).toBe(200);
      expect((await admin('get', '/api/v1/admin/tenants?limit=2')).status).toBe(200);
      const usage = await gw.http().get('/api/v1/usage?days=3').set('X-API-Key', t.api_key);
      expect(usage.status).toBe(200);
    });
  });

  describe('echo limits', () => {
    const noControls = (text: string) => {
      for (const ch of text)
        expect(ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f).toBe(true);
    };

    it('quotes at most 64 characters of an id, escaped', async () => {
      const long = admin('get', `/api/v1/admin/tenants/${'a'.repeat(10_000)}`);
      const traversal = admin('get', '/api/v1/admin/tenants/..%2F..%0A%1B[31m');
      for (const res of await Promise.all([long, traversal])) {
        expect(res.status).toBe(404);
        const message = String(res.body.error.message);
        expect(message.length).toBeLessThan(64 + 40);
        noControls(message);
      }
    });

    it('quotes at most 64 characters of a model or field name, escaped', async () => {
      const model = await post(
        '/api/v1/completions',
        JSON.stringify({ ...ask, model: `${'m'.repeat(200)}\u001b` }),
      );
      const field = await post(
        '/api/v1/completions',
        JSON.stringify({ ...ask, [`${'f'.repeat(5000)}\r\n`]: 1 }),
      );
      for (const res of [model, field]) {
        expect(res.status).toBe(400);
        const message = String(res.body.error.message);
        expect(message.length).toBeLessThan(64 + 60);
        noControls(message);
      }
      const unknown = await post(
        '/api/v1/completions',
        JSON.stringify({ ...ask, model: 'n'.repeat(250) }),
      );
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).toContain(`'${'n'.repeat(64)}…'`);
    });
  });
});
