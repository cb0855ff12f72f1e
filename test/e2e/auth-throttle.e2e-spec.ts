import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { AUTH_FAILURE_LIMIT } from '@gateway/tenancy';
import { createTenant, startGateway, type TestGateway } from '../support/app';

/**
 * The failed-authentication throttle through the real app: after 100 failures from one client in
 * 60 s its unknown keys get 429 too_many_auth_failures with Retry-After and no Postgres lookup,
 * on the fast completion routes and the Nest routes alike; its valid keys are still served; the
 * count is shared by replicas; X-Forwarded-For names the client only when a trusted proxy sent it.
 */

const COMPLETION = {
  model: 'mock-model',
  messages: [{ role: 'user', content: 'ping' }],
  max_tokens: 5,
};

const randomKey = () => `llm-gw-${randomBytes(32).toString('hex').slice(0, 43)}`;

/** Every statement this process sends Postgres that reads a key table (the app runs in-process). */
function countKeyLookups(): { readonly count: number; restore(): void } {
  const original = Client.prototype.query;
  const counter = { count: 0, restore: () => (Client.prototype.query = original) };
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: string })?.text;
    if (typeof text === 'string' && /"(api|admin)_keys"/.test(text)) counter.count++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  return counter;
}

/** Runs `n` calls of `fn`, `concurrency` at a time; the results in call order. */
async function pooled<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>) {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

function expectThrottled(res: { status: number; headers: Record<string, string>; body: unknown }) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({
    error: { type: 'rate_limit_error', code: 'too_many_auth_failures' },
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

// Hundreds of requests per test: generous on a loaded machine (each takes ~2 s when it is quiet).
jest.setTimeout(60_000);

describe('failed-authentication throttle (e2e)', () => {
  describe('behind a trusted proxy', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ env: { TRUSTED_PROXIES: '127.0.0.1/32, ::1' } });
    });
    afterAll(async () => {
      await gw?.close();
    });

    const complete = (key: string, client: string, path = '/api/v1/completions') =>
      gw.http().post(path).set('X-API-Key', key).set('X-Forwarded-For', client).send(COMPLETION);

    it('refuses a client after 100 bad keys, with no further Postgres lookup, and still serves its valid key', async () => {
      const tenant = await createTenant(gw);
      const client = '203.0.113.10';
      const lookups = countKeyLookups();
      try {
        // 20 connections of random keys at once: the count is exact however they interleave.
        const statuses = await pooled(
          150,
          20,
          async () => (await complete(randomKey(), client)).status,
        );
        expect(statuses.filter((s) => s === 401)).toHaveLength(AUTH_FAILURE_LIMIT);
        expect(statuses.filter((s) => s === 429)).toHaveLength(150 - AUTH_FAILURE_LIMIT);
        expect(lookups.count).toBe(AUTH_FAILURE_LIMIT);

        expectThrottled(await complete(randomKey(), client));
        expectThrottled(await complete('not-a-key', client, '/v1/chat/completions'));
        expectThrottled(
          await gw
            .http()
            .get('/api/v1/usage')
            .set('Authorization', `Bearer ${randomKey()}`)
            .set('X-Forwarded-For', client),
        );
        expect(lookups.count).toBe(AUTH_FAILURE_LIMIT);
      } finally {
        lookups.restore();
      }

      // The same client's valid key: fast route and Nest route.
      expect((await complete(tenant.api_key, client)).status).toBe(200);
      expect(
        (
          await gw
            .http()
            .get('/api/v1/usage')
            .set('X-API-Key', tenant.api_key)
            .set('X-Forwarded-For', client)
        ).status,
      ).toBe(200);
      // A key issued now works at once from the refused client.
      const issued = await gw
        .http()
        .post(`/api/v1/admin/tenants/${tenant.tenant_id}/keys`)
        .set('X-API-Key', gw.adminKey);
      expect(issued.status).toBe(201);
      expect((await complete(issued.body.api_key as string, client)).status).toBe(200);
      // A missing key is a plain 401: it costs no lookup and is not what the rule refuses.
      const missing = await gw
        .http()
        .post('/api/v1/completions')
        .set('X-Forwarded-For', client)
        .send(COMPLETION);
      expect(missing.status).toBe(401);
    });

    it('counts the client the trusted proxy names, not the proxy', async () => {
      for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
        expect((await complete(randomKey(), '203.0.113.20')).status).toBe(401);
      }
      expectThrottled(await complete(randomKey(), '203.0.113.20'));
      // What the client itself wrote before the proxy's entry is not believed.
      expectThrottled(await complete(randomKey(), '198.51.100.1, 203.0.113.20'));
      // Another client behind the same proxy is untouched.
      expect((await complete(randomKey(), '203.0.113.21')).status).toBe(401);
    });

    it('answers repeated unknown keys from the negative cache, never from Postgres', async () => {
      const bad = Array.from({ length: 5 }, randomKey);
      const lookups = countKeyLookups();
      try {
        for (let round = 0; round < 10; round++) {
          for (const key of bad)
            expect((await complete(key, `203.0.113.${30 + round}`)).status).toBe(401);
        }
        expect(lookups.count).toBe(bad.length);
      } finally {
        lookups.restore();
      }
    });
  });

  describe('two replicas, no trusted proxy', () => {
    let a: TestGateway;
    let b: TestGateway;
    beforeAll(async () => {
      a = await startGateway();
      b = await startGateway({ database: a.database, redisKeyPrefix: a.redisKeyPrefix });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('share one count, and ignore X-Forwarded-For from an untrusted peer', async () => {
      const tenant = await createTenant(a); // issued on a, never yet seen by b
      const fail = (gw: TestGateway, i: number) =>
        gw
          .http()
          .post('/v1/chat/completions')
          .set('Authorization', `Bearer ${randomKey()}`)
          // A different claimed client every time: without a trusted proxy, all are 127.0.0.1.
          .set('X-Forwarded-For', `192.0.2.${i % 250}`)
          .send(COMPLETION);
      for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
        expect((await fail(i % 2 === 0 ? a : b, i)).status).toBe(401);
      }
      expectThrottled(await fail(a, 1));
      expectThrottled(await fail(b, 2));

      for (const gw of [a, b]) {
        const ok = await gw
          .http()
          .post('/api/v1/completions')
          .set('X-API-Key', tenant.api_key)
          .send(COMPLETION);
        expect(ok.status).toBe(200);
      }
    });
  });
});
