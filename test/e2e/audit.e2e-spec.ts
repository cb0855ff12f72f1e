import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import type { AuditRow } from '@gateway/audit';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';

/*
 * The audit log over HTTP against the real app: one record per tenant request whatever its fate,
 * durable before the response, readable page by page, and never holding prompt or answer text.
 */

type Row = AuditRow;

describe('audit log (e2e)', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let t: CreatedTenant;
  const canary = `canary-${randomBytes(8).toString('hex')}`;
  /** Every response this tenant got: request id → status. */
  const sent = new Map<string, number>();

  const track = (res: Response) => {
    sent.set(res.headers['x-request-id'], res.status);
    return res;
  };
  const complete = (payload: unknown, headers: Record<string, string> = {}) =>
    gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', t.api_key)
      .set(headers)
      .send(payload as object)
      .then(track);
  const ask = (model: string, text = `${canary} ${randomBytes(4).toString('hex')}`) => ({
    model,
    messages: [{ role: 'user', content: text }],
    max_tokens: 40,
  });

  async function list(query: string): Promise<{ data: Row[]; next_cursor: string | null }> {
    const res = await gw.http().get(`/api/v1/admin/audit?${query}`).set('X-API-Key', gw.adminKey);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function everything(query: string): Promise<Row[]> {
    const rows: Row[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
      rows.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return rows;
  }

  beforeAll(async () => {
    fake = await startFakeUpstream({ name: 'fake' });
    gw = await startGateway({
      env: { OPENAI_BASE_URL: `${fake.url}/v1`, ANTHROPIC_BASE_URL: fake.url },
    });
    t = await createTenant(gw, { rate_limit: 60, monthly_budget: 50 });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('records every tenant request exactly once, whatever its outcome', async () => {
    const same = ask('gpt-4o-mini');
    expect((await complete(same)).status).toBe(200);
    expect((await complete(same)).body.cached).toBe(true);
    expect((await complete(ask('claude-haiku'))).status).toBe(200);
    expect((await complete(ask('no-such-model'))).status).toBe(404);
    expect((await complete({ model: 'gpt-4o-mini', messages: [] })).status).toBe(400);
    expect(
      (
        await gw
          .http()
          .post('/api/v1/completions')
          .set('X-API-Key', t.api_key)
          .set('Content-Type', 'application/json')
          .send('{"model": "gpt-4o-mini", ')
          .then(track)
      ).status,
    ).toBe(400);
    await fake.setMode('500');
    const failed = await complete(ask('gpt-4o-mini'));
    expect(failed.status).toBe(502);
    await fake.setMode('ok');
    expect((await gw.http().get('/v1/models').set('X-API-Key', t.api_key).then(track)).status).toBe(
      200,
    );
    // Not audited: bad key, admin key on a tenant route, admin calls.
    await gw.http().post('/api/v1/completions').set('X-API-Key', 'llm-gw-unknown').send(same);
    await gw.http().post('/api/v1/completions').set('X-API-Key', gw.adminKey).send(same);

    const rows = await everything(`tenant_id=${t.tenant_id}&limit=3`);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...sent.keys()].sort());
    for (const r of rows) expect(r.status_code).toBe(sent.get(r.request_id));

    const by = (outcome: string) => rows.filter((r) => r.outcome === outcome);
    expect(
      by('success')
        .map((r) => r.endpoint)
        .sort(),
    ).toEqual(['/api/v1/completions', '/api/v1/completions', '/v1/models'].sort());
    expect(by('cached')).toEqual([
      expect.objectContaining({ cached: true, cost: 0, provider: 'openai', model: 'gpt-4o-mini' }),
    ]);
    expect(by('cached')[0].cost_saved).toBeGreaterThan(0);
    expect(by('not_found')).toEqual([
      expect.objectContaining({ status_code: 404, error_code: 'model_not_found' }),
    ]);
    expect(by('invalid_request')).toHaveLength(2);
    const upstream = by('upstream_error');
    expect(upstream).toEqual([
      expect.objectContaining({
        request_id: failed.headers['x-request-id'],
        status_code: 502,
        error_code: 'all_providers_failed',
        cost: 0,
      }),
    ]);
    expect(upstream[0].attempts.length).toBeGreaterThan(0);
    for (const attempt of upstream[0].attempts) {
      expect(Object.keys(attempt).sort()).toEqual(['latency_ms', 'outcome', 'provider']);
      expect(attempt.outcome).not.toBe('success');
    }
  });

  it('stores no prompt or completion text in any table', async () => {
    const hits = await gw.database.dataSource.query(
      `SELECT count(*)::int AS n FROM request_records r WHERE r::text LIKE '%' || $1 || '%'`,
      [canary],
    );
    expect(hits[0].n).toBe(0);
    const answer = await gw.database.dataSource.query(
      `SELECT count(*)::int AS n FROM request_records r WHERE r::text LIKE '%fake answer%'`,
    );
    expect(answer[0].n).toBe(0);
  });

  it('groups concurrent requests into shared INSERTs and answers each only once it is recorded', async () => {
    const batches = async () => {
      const text = (await gw.http().get('/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith('llm_gateway_audit_batch_rows_count'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await batches();
    const n = 40;
    const responses = await Promise.all(
      Array.from({ length: n }, () =>
        complete(ask('gpt-4o-mini'), { 'Cache-Control': 'no-store' }),
      ),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    // Straight after the responses, with no wait: every record is there.
    const ids = responses.map((r) => r.headers['x-request-id']);
    const stored = await gw.database.dataSource.query(
      'SELECT count(*)::int AS n FROM request_records WHERE request_id = ANY($1)',
      [ids],
    );
    expect(stored[0].n).toBe(n);
    const inserts = (await batches()) - before;
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(n);
  });

  it('filters by status, provider, model and time, and pages newest first', async () => {
    const limited = await createTenant(gw, { rate_limit: 1, monthly_budget: 50 });
    const first = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', limited.api_key)
      .send(ask('gpt-4o-mini'));
    expect(first.status).toBe(200);
    const refused = await gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', limited.api_key)
      .send(ask('gpt-4o-mini'));
    expect(refused.status).toBe(429);
    const rl = await list(`tenant_id=${limited.tenant_id}&status=rate_limited`);
    expect(rl.data).toEqual([
      expect.objectContaining({
        request_id: refused.headers['x-request-id'],
        status_code: 429,
        error_code: 'rate_limit_exceeded',
      }),
    ]);

    const anthropic = await list(`tenant_id=${t.tenant_id}&provider=anthropic&model=claude-haiku`);
    expect(anthropic.data).toHaveLength(1);
    expect(anthropic.data[0]).toMatchObject({ provider: 'anthropic', model: 'claude-haiku' });

    const future = await list(
      `tenant_id=${t.tenant_id}&from=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    expect(future).toEqual({ data: [], next_cursor: null });

    const all = await everything(`tenant_id=${t.tenant_id}&limit=7`);
    const times = all.map((r) => Date.parse(r.created_at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(new Set(all.map((r) => r.request_id)).size).toBe(all.length);
    const page = await list(`tenant_id=${t.tenant_id}`);
    // Default limit 50: the first page of the same list, whole.
    expect(page.data.map((r) => r.request_id)).toEqual(all.slice(0, 50).map((r) => r.request_id));
    expect(page.next_cursor === null).toBe(all.length <= 50);
  });
});
