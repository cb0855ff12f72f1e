import OpenAI from 'openai';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import {
  fakePromptTokens,
  fakeVector,
  type FakeEmbeddingsUpstream,
  startFakeEmbeddingsUpstream,
} from '../support/fake-embeddings-upstream';

interface AuditRecord {
  request_id: string;
  endpoint: string;
  model: string;
  provider: string | null;
  provider_model: string | null;
  status_code: number;
  outcome: string;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  cost_saved: number;
  cached: boolean;
  attempts: Array<{ provider: string; outcome: string }>;
  error_code: string | null;
}

/** openai/text-embedding-3-small in the test catalog: $0.02 per 1M input tokens. */
const OPENAI_USD_PER_TOKEN = 0.02 / 1e6;
/** The fake primary's vectors are 16 long unless a request asks for `dimensions`. */
const DIMS = 16;

describe('embeddings (e2e, fake OpenAI-format upstreams)', () => {
  let gw: TestGateway;
  let primary: FakeEmbeddingsUpstream;
  let secondary: FakeEmbeddingsUpstream;
  let tenant: CreatedTenant;

  beforeAll(async () => {
    primary = await startFakeEmbeddingsUpstream({ name: 'primary', dimensions: DIMS });
    secondary = await startFakeEmbeddingsUpstream({ name: 'secondary', dimensions: DIMS });
    gw = await startGateway({
      env: { OPENAI_BASE_URL: `${primary.url}/v1`, LOCAL_LLM_BASE_URL: `${secondary.url}/v1` },
    });
    tenant = await createTenant(gw, { rate_limit: 1000, monthly_budget: 50 });
  });
  afterEach(() => {
    primary.reset();
    secondary.reset();
  });
  afterAll(async () => {
    await gw?.close();
    await primary?.close();
    await secondary?.close();
  });

  const embed = (body: Record<string, unknown>, key = tenant.api_key, path = '/v1/embeddings') =>
    gw.http().post(path).set('Authorization', `Bearer ${key}`).send(body);

  async function auditOf(tenantId: string): Promise<AuditRecord[]> {
    const res = await gw
      .http()
      .get(`/api/v1/admin/audit?tenant_id=${tenantId}&limit=500`)
      .set('X-API-Key', gw.adminKey);
    expect(res.status).toBe(200);
    return res.body.data as AuditRecord[];
  }

  async function recordOf(tenantId: string, requestId: string): Promise<AuditRecord> {
    const found = (await auditOf(tenantId)).filter((r) => r.request_id === requestId);
    expect(found).toHaveLength(1);
    return found[0];
  }

  it('works with the official openai SDK unchanged: one string, base64 by default', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
    const res = await client.embeddings.create({
      model: 'embed-small',
      input: 'The food was good.',
    });
    expect(res.object).toBe('list');
    expect(res.model).toBe('embed-small');
    expect(res.data).toHaveLength(1);
    // The SDK asked for base64 and decoded it: the upstream's float32 values, exactly.
    expect(res.data[0].embedding).toEqual(
      Array.from(fakeVector('primary', 'The food was good.', DIMS)),
    );
    expect(res.usage).toEqual({
      prompt_tokens: fakePromptTokens(['The food was good.']),
      total_tokens: fakePromptTokens(['The food was good.']),
    });
    // OpenAI is asked for base64 too (a quarter of the bytes), whatever the client wants.
    expect(primary.lastRequest?.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['The food was good.'],
      encoding_format: 'base64',
    });
  });

  it('works with the SDK for an array of strings in float, dimensions passed through', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
    const input = ['first', 'second', 'third'];
    const res = await client.embeddings.create({
      model: 'embed-small',
      input,
      encoding_format: 'float',
      dimensions: 8,
    });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    res.data.forEach((d, i) =>
      expect(d.embedding).toEqual(Array.from(fakeVector('primary', input[i], 8))),
    );
    expect(primary.lastRequest?.body).toMatchObject({ dimensions: 8 });

    await expect(
      client.embeddings.create({ model: 'no-such-model', input: 'x' }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers curl-style float JSON with rate-limit and cache headers, costs exactly, records once', async () => {
    const t = await createTenant(gw, { rate_limit: 100, monthly_budget: 10 });
    const body = { model: 'embed-small', input: ['alpha beta', 'gamma'] };
    const miss = await embed(body, t.api_key);
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.headers['x-gateway-provider']).toBe('openai');
    expect(miss.headers['cache-control']).toBe('private, no-store');
    expect(miss.headers['x-ratelimit-limit']).toBe('100');
    expect(miss.headers['x-ratelimit-remaining']).toBe('99');
    expect(miss.body.data[1].embedding).toEqual(Array.from(fakeVector('primary', 'gamma', DIMS)));

    const tokens = fakePromptTokens(body.input);
    const record = await recordOf(t.tenant_id, miss.headers['x-request-id']);
    expect(record).toMatchObject({
      endpoint: '/v1/embeddings',
      model: 'embed-small',
      provider: 'openai',
      provider_model: 'text-embedding-3-small',
      status_code: 200,
      outcome: 'success',
      prompt_tokens: tokens,
      completion_tokens: 0,
      cached: false,
      attempts: [{ provider: 'openai', outcome: 'success' }],
    });
    expect(record.cost).toBe(Number((tokens * OPENAI_USD_PER_TOKEN).toFixed(10)));

    const hit = await embed(body, t.api_key);
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    expect(primary.calls).toBe(1);
    expect(await recordOf(t.tenant_id, hit.headers['x-request-id'])).toMatchObject({
      outcome: 'cached',
      cached: true,
      cost: 0,
      cost_saved: record.cost,
      prompt_tokens: tokens,
    });

    const usage = await gw.http().get('/api/v1/usage').set('X-API-Key', t.api_key);
    expect(usage.status).toBe(200);
    expect(usage.body.usage_by_provider).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider: 'openai', requests: 1, tokens, cost: record.cost }),
        expect.objectContaining({ provider: 'cache', requests: 1, cost: 0 }),
      ]),
    );
  });

  it('caches on every parameter that changes the answer (encoding, dimensions), not on user', async () => {
    const t = await createTenant(gw);
    const base = { model: 'embed-small', input: 'cache me' };
    const status = async (body: Record<string, unknown>) =>
      (await embed(body, t.api_key)).headers['x-cache'];
    expect(await status(base)).toBe('MISS');
    expect(await status({ ...base, user: 'someone-else' })).toBe('HIT');
    expect(await status({ ...base, encoding_format: 'float' })).toBe('HIT'); // float is the default
    expect(await status({ ...base, encoding_format: 'base64' })).toBe('MISS');
    expect(await status({ ...base, dimensions: 4 })).toBe('MISS');
    expect(await status({ ...base, input: ['cache me'] })).toBe('HIT');
    expect(await status({ ...base, input: ['cache me', 'and me'] })).toBe('MISS');
    expect(primary.calls).toBe(4);

    // Another tenant never sees these entries.
    expect((await embed(base)).headers['x-cache']).toBe('MISS');
    // The base64 hit decodes to the same vector as the float answer.
    const b64 = await embed({ ...base, encoding_format: 'base64' }, t.api_key);
    expect(b64.headers['x-cache']).toBe('HIT');
    const bytes = Buffer.from(b64.body.data[0].embedding as string, 'base64');
    expect(bytes.readFloatLE(0)).toBe(fakeVector('primary', 'cache me', DIMS)[0]);
  });

  it('sends identical requests in flight at once to the provider once (coalescing)', async () => {
    const t = await createTenant(gw);
    primary.setMode('slow');
    const body = {
      model: 'embed-small',
      input: ['together', 'at once'],
      encoding_format: 'base64',
    };
    const answers = await Promise.all([1, 2, 3].map(() => embed(body, t.api_key)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(primary.calls).toBe(1);
    expect(answers.map((r) => r.headers['x-cache']).sort()).toEqual(['HIT', 'HIT', 'MISS']);
    expect(answers[1].body).toEqual(answers[0].body);
    expect(answers[2].body).toEqual(answers[0].body);
    const records = await auditOf(t.tenant_id);
    expect(records.map((r) => r.outcome).sort()).toEqual(['cached', 'cached', 'success']);
    expect(records.filter((r) => r.cost > 0)).toHaveLength(1);
  });

  it.each<[string, 'ok' | '500' | '429' | 'hang' | 'garbage', string]>([
    ['a 500', '500', 'error'],
    ['a 429', '429', 'rate_limited'],
    ['a body that is not JSON', 'garbage', 'error'],
    ['a hang (timeout)', 'hang', 'timeout'],
  ])(
    'falls back to the next route on %s',
    async (_name, mode, outcome) => {
      primary.setMode(mode);
      const res = await embed({ model: 'embed-small', input: `fallback ${mode}` });
      expect(res.status).toBe(200);
      expect(res.headers['x-gateway-provider']).toBe('local');
      expect(res.body.data[0].embedding).toEqual(
        Array.from(fakeVector('secondary', `fallback ${mode}`, DIMS)),
      );
      // The OpenAI-compatible route is asked for plain floats.
      expect(secondary.lastRequest?.body).toEqual({
        model: 'text-embedding-3-small',
        input: [`fallback ${mode}`],
      });
      const record = await recordOf(tenant.tenant_id, res.headers['x-request-id']);
      expect(record.attempts.map((a) => [a.provider, a.outcome])).toEqual([
        ['openai', outcome],
        ['local', 'success'],
      ]);
      expect(record.provider).toBe('local');
      // Priced at the route that answered: local/text-embedding-3-small is $0.01 per 1M.
      expect(record.cost).toBe(Number((record.prompt_tokens * 0.01e-6).toFixed(10)));
      // A success between failures keeps the primary's breaker closed for the next case.
      primary.setMode('ok');
      expect((await embed({ model: 'embed-small', input: `ok after ${mode}` })).status).toBe(200);
    },
    15_000,
  );

  it('falls back when a route ignores the requested dimensions (its vectors do not fit)', async () => {
    primary.setMode('ignore_dimensions');
    const res = await embed({ model: 'embed-small', input: 'short please', dimensions: 4 });
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('local');
    expect(res.body.data[0].embedding).toHaveLength(4);
  });

  it("passes an upstream 400 on without fallback, in OpenAI's error shape", async () => {
    primary.setMode('400');
    const res = await embed({ model: 'embed-small', input: 'too long, says the provider' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'upstream_bad_request',
      message: expect.stringMatching(/maximum context length/),
      request_id: res.headers['x-request-id'],
    });
    expect(secondary.calls).toBe(0);
    expect(await recordOf(tenant.tenant_id, res.headers['x-request-id'])).toMatchObject({
      outcome: 'invalid_request',
      error_code: 'upstream_bad_request',
    });
  });

  it('answers 502 when every route fails, listing the attempts, and records it', async () => {
    primary.setMode('500');
    secondary.setMode('500');
    const res = await embed({ model: 'embed-small', input: 'nobody home' });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ type: 'upstream_error', code: 'all_providers_failed' });
    expect(await recordOf(tenant.tenant_id, res.headers['x-request-id'])).toMatchObject({
      endpoint: '/v1/embeddings',
      status_code: 502,
      outcome: 'upstream_error',
      cost: 0,
      attempts: [
        { provider: 'openai', outcome: 'error' },
        { provider: 'local', outcome: 'error' },
      ],
    });
    primary.setMode('ok');
    secondary.setMode('ok');
    expect((await embed({ model: 'embed-small', input: 'healthy again' })).status).toBe(200);
  });

  it('reads a local (Ollama-style) server through the OpenAI-compatible adapter, at $0', async () => {
    const res = await embed({ model: 'local-embed', input: 'nomic', encoding_format: 'base64' });
    expect(res.status).toBe(200);
    expect(secondary.lastRequest?.body).toEqual({ model: 'nomic-embed-text', input: ['nomic'] });
    const bytes = Buffer.from(res.body.data[0].embedding as string, 'base64');
    expect(bytes.length).toBe(DIMS * 4);
    expect(bytes.readFloatLE(4)).toBe(fakeVector('secondary', 'nomic', DIMS)[1]);
    expect((await recordOf(tenant.tenant_id, res.headers['x-request-id'])).cost).toBe(0);
  });

  it('serves the mock provider deterministically, also at /api/v1/embeddings', async () => {
    const body = { model: 'mock-embed', input: ['same text'] };
    const a = await embed(body, tenant.api_key, '/api/v1/embeddings');
    const b = await gw
      .http()
      .post('/v1/embeddings')
      .set('X-API-Key', tenant.api_key)
      .set('Cache-Control', 'no-store')
      .send(body);
    expect(a.status).toBe(200);
    expect(b.headers['x-cache']).toBe('BYPASS');
    expect(a.body.data[0].embedding).toHaveLength(64); // the catalog's dimensions for mock-embed-1
    expect(b.body.data[0].embedding).toEqual(a.body.data[0].embedding);
    expect((await recordOf(tenant.tenant_id, a.headers['x-request-id'])).endpoint).toBe(
      '/api/v1/embeddings',
    );
  });

  it('refuses a chat request to an embedding model and the reverse, with a 400 naming model', async () => {
    const chat = await gw
      .http()
      .post('/v1/chat/completions')
      .set('X-API-Key', tenant.api_key)
      .send({ model: 'embed-small', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(400);
    expect(chat.body.error).toMatchObject({
      code: 'invalid_request',
      param: 'model',
      message: "The model 'embed-small' is an embedding model: use POST /v1/embeddings.",
    });
    const vectors = await embed({ model: 'mock-model', input: 'hi' });
    expect(vectors.status).toBe(400);
    expect(vectors.body.error).toMatchObject({ code: 'invalid_request', param: 'model' });
    expect(await recordOf(tenant.tenant_id, vectors.headers['x-request-id'])).toMatchObject({
      endpoint: '/v1/embeddings',
      outcome: 'invalid_request',
    });
  });

  it('refuses bad bodies naming the field, and dimensions above the catalog’s', async () => {
    for (const [body, param] of [
      [{ model: 'mock-embed' }, 'input'],
      [{ model: 'mock-embed', input: [1, 2, 3] }, 'input'],
      [{ model: 'mock-embed', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ model: 'mock-embed', input: 'x', dimensions: 65 }, 'dimensions'],
      [{ model: 'mock-embed', input: 'x', stream: true }, 'stream'],
    ] as const) {
      const res = await embed(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
    }
    const unauthenticated = await gw
      .http()
      .post('/v1/embeddings')
      .send({ model: 'mock-embed', input: 'x' });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body.error.code).toBe('invalid_api_key');
  });

  it('counts input tokens against tokens_per_minute and reserves the worst case against the budget', async () => {
    const text = 'x'.repeat(100);
    // The bound is 100 bytes + 8: over a 100-token minute.
    const tpm = await createTenant(gw, { tokens_per_minute: 100 });
    const limited = await embed({ model: 'embed-small', input: text }, tpm.api_key);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('tokens_rate_limit_exceeded');
    expect(primary.calls).toBe(0);

    // 108 tokens at the dearest route ($0.02 per 1M) is $0.00000216: more than this budget.
    const poor = await createTenant(gw, { monthly_budget: 0.000002 });
    const refused = await embed({ model: 'embed-small', input: text }, poor.api_key);
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('budget_exceeded');
    expect(await recordOf(poor.tenant_id, refused.headers['x-request-id'])).toMatchObject({
      outcome: 'budget_exceeded',
    });
    // …while a shorter input fits it.
    expect((await embed({ model: 'embed-small', input: 'short' }, poor.api_key)).status).toBe(200);
  });

  it('reports operation embeddings in the GenAI metrics', async () => {
    await embed({ model: 'mock-embed', input: 'metrics' });
    const metrics = await gw.http().get('/metrics');
    expect(metrics.text).toMatch(
      /gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_operation_name="embeddings"[^}]*gen_ai_provider_name="mock"/,
    );
    expect(metrics.text).toMatch(
      /gen_ai_client_token_usage_count\{[^}]*gen_ai_operation_name="embeddings"[^}]*gen_ai_token_type="input"/,
    );
  });
});
