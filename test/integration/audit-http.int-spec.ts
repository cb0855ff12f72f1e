import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Controller,
  HttpCode,
  Logger,
  Module,
  Post,
  Req,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Request } from 'express';
import request from 'supertest';
import { AuditApiModule } from '@gateway/api';
import { AuditModule, AuditWriter } from '@gateway/audit';
import { loadConfig } from '@gateway/config';
import { requestContext } from '@gateway/context';
import { GatewayError, GatewayExceptionFilter } from '@gateway/errors';
import { deferredJsonMiddleware, requestContextMiddleware } from '@gateway/http';
import { GatewayMetrics } from '@gateway/observability';
import { TenancyModule, TenantRoute } from '@gateway/tenancy';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { infrastructureModules } from '../support/nest';
// The app reaches Postgres through this proxy, so the test can take Postgres away and back.
import { PgProxy } from '../support/pg-proxy';

/*
 * Recording over HTTP with the real audit, tenancy (keys, guards, admin API), persistence and
 * error filter. The tenant routes below stand in for the completion pipeline (a later lib), doing
 * what it does to the request context: fill the audit draft, push pending work, or throw.
 */

let gate: Promise<void> = Promise.resolve();

@Controller('test')
@TenantRoute()
class FakePipelineController {
  @Post('answer')
  @HttpCode(200)
  answer(@Req() req: Request): { ok: true } {
    const ctx = requestContext(req);
    Object.assign(ctx.audit, {
      model: 'gpt-4o-mini',
      provider: 'openai',
      providerModel: 'gpt-4o-mini-2024-07-18',
      promptTokens: 12,
      completionTokens: 15,
      costUnits: 5_400_000,
      upstreamLatencyMs: 7,
      attempts: [{ provider: 'openai', outcome: 'success', latency_ms: 7 }],
    });
    ctx.upstreamNs += 7_000_000n;
    ctx.endpoint = '/api/v1/completions';
    ctx.pending.push(gate);
    return { ok: true };
  }

  @Post('hit')
  @HttpCode(200)
  hit(@Req() req: Request): { ok: true } {
    Object.assign(requestContext(req).audit, {
      model: 'gpt-4o-mini',
      provider: 'openai',
      cached: true,
      outcome: 'cached',
      promptTokens: 12,
      completionTokens: 15,
      costSavedUnits: 5_400_000,
    });
    return { ok: true };
  }

  @Post('limited')
  limited(@Req() req: Request): never {
    requestContext(req).audit.model = 'gpt-4o-mini';
    throw new GatewayError('rate_limit_exceeded', 'Rate limit exceeded.', {
      headers: { 'Retry-After': '3' },
    });
  }

  @Post('unknown-model')
  unknownModel(@Req() req: Request): never {
    requestContext(req).audit.model = `no-such-model-${randomBytes(4).toString('hex')}`;
    throw new GatewayError('model_not_found', 'Unknown model.', { param: 'model' });
  }
}

@Module({ controllers: [FakePipelineController] })
class FakePipelineModule {}

interface Tenant {
  tenant_id: string;
  api_key: string;
  key_id: string;
  name: string;
}

describe('audit recording and reports over HTTP', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let http: () => ReturnType<typeof request>;
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;
  let a: Tenant;
  let b: Tenant;
  const proxy = new PgProxy();

  async function records(tenantId: string) {
    return db.dataSource.query(
      `SELECT request_id, api_key_id, endpoint, model, provider, provider_model, status_code,
              outcome, prompt_tokens, completion_tokens, cost_units::text, cost_saved_units::text,
              upstream_latency_ms, cached, attempts, error_code
         FROM request_records WHERE tenant_id = $1 ORDER BY id`,
      [tenantId],
    );
  }

  async function createTenant(): Promise<Tenant> {
    const res = await http()
      .post('/api/v1/admin/tenants')
      .set('X-API-Key', adminKey)
      .send({ name: `t-${randomBytes(3).toString('hex')}`, rate_limit: 100, monthly_budget: 10 });
    expect(res.status).toBe(201);
    return res.body as Tenant;
  }

  const spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-spool-http-'));

  beforeAll(async () => {
    Logger.overrideLogger(false);
    db = await createTestDatabase('audit_http');
    await proxy.start();
    const config = loadConfig({
      ADMIN_API_KEY: adminKey,
      DATABASE_URL: db.url.replace(':5432/', `:${proxy.port}/`),
      REDIS_KEY_PREFIX: `audit-http-${randomBytes(4).toString('hex')}:`,
      GATEWAY_CONFIG: join(__dirname, '../support/catalog.test.yaml'),
      AUDIT_SPOOL_DIR: spoolDir,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ...infrastructureModules(config),
        TenancyModule,
        AuditModule,
        AuditApiModule,
        FakePipelineModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: GatewayExceptionFilter }],
    }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    app.use(requestContextMiddleware);
    app.use(deferredJsonMiddleware(config.server.maxBodyBytes));
    await app.init();
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    http = () => request(url.replace('[::1]', '127.0.0.1'));
    a = await createTenant();
    b = await createTenant();
  });

  afterAll(async () => {
    await proxy.start();
    await app?.close();
    await proxy.close();
    await db?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('answers a tenant request only after its record is in Postgres and its pending work is done', async () => {
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    let answered = false;
    const call = http()
      .post('/test/answer')
      .set('X-API-Key', a.api_key)
      .set('X-Request-Id', 'req-answer-1')
      .then((res) => {
        answered = true;
        return res;
      });
    await new Promise((r) => setTimeout(r, 150));
    expect(answered).toBe(false);
    release();
    const res = await call;
    expect(res.status).toBe(200);
    // No waiting, no flush: the record committed before the response was sent.
    expect(await records(a.tenant_id)).toEqual([
      {
        request_id: 'req-answer-1',
        api_key_id: a.key_id,
        endpoint: '/api/v1/completions',
        model: 'gpt-4o-mini',
        provider: 'openai',
        provider_model: 'gpt-4o-mini-2024-07-18',
        status_code: 200,
        outcome: 'success',
        prompt_tokens: 12,
        completion_tokens: 15,
        cost_units: '5400000',
        cost_saved_units: '0',
        upstream_latency_ms: 7,
        cached: false,
        attempts: [{ provider: 'openai', outcome: 'success', latency_ms: 7 }],
        error_code: null,
      },
    ]);
  });

  it('records a failed tenant request once, with the mapped status, outcome and code', async () => {
    const res = await http()
      .post('/test/limited')
      .set('Authorization', `Bearer ${b.api_key}`)
      .set('X-Request-Id', 'req-limited-1');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('3');
    const rows = await records(b.tenant_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      request_id: 'req-limited-1',
      status_code: 429,
      outcome: 'rate_limited',
      error_code: 'rate_limit_exceeded',
      model: 'gpt-4o-mini',
      provider: null,
      cost_units: '0',
    });
  });

  it('records a malformed body after authentication, under its tenant', async () => {
    const before = (await records(b.tenant_id)).length;
    const res = await http()
      .post('/test/answer')
      .set('X-API-Key', b.api_key)
      .set('Content-Type', 'application/json')
      .send('{"model": ');
    expect(res.status).toBe(400);
    const rows = await records(b.tenant_id);
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({ status_code: 400, outcome: 'invalid_request' });
  });

  it('does not audit unauthenticated, admin or unknown-route requests', async () => {
    const count = async () =>
      Number((await db.dataSource.query('SELECT count(*) AS n FROM request_records'))[0].n);
    const before = await count();
    expect((await http().post('/test/answer').set('X-API-Key', 'llm-gw-nope')).status).toBe(401);
    expect((await http().post('/test/answer').set('X-API-Key', adminKey)).status).toBe(403);
    expect((await http().get('/api/v1/admin/tenants').set('X-API-Key', adminKey)).status).toBe(200);
    expect((await http().get('/nowhere').set('X-API-Key', a.api_key)).status).toBe(404);
    expect(await count()).toBe(before);
  });

  it('counts request metrics once per request, with bounded labels', async () => {
    const metrics = app.get(GatewayMetrics);
    type Label = 'tenant' | 'model' | 'provider' | 'outcome';
    const value = async (labels: Partial<Record<Label, string>>) =>
      (await metrics.requestsTotal.get()).values.find((v) =>
        (Object.entries(labels) as Array<[Label, string]>).every(([k, x]) => v.labels[k] === x),
      )?.value ?? 0;
    const hitsBefore = await value({ tenant: a.tenant_id, outcome: 'cached', provider: 'openai' });
    const unknownBefore = await value({ tenant: a.tenant_id, outcome: 'not_found', model: 'none' });
    await http().post('/test/hit').set('X-API-Key', a.api_key).expect(200);
    await http().post('/test/unknown-model').set('X-API-Key', a.api_key).expect(404);
    expect(await value({ tenant: a.tenant_id, outcome: 'cached', provider: 'openai' })).toBe(
      hitsBefore + 1,
    );
    expect(await value({ tenant: a.tenant_id, outcome: 'not_found', model: 'none' })).toBe(
      unknownBefore + 1,
    );
    const series = (await metrics.requestsTotal.get()).values.map((v) => v.labels.model);
    expect(series.some((m) => String(m).startsWith('no-such-model'))).toBe(false);
  });

  it('serves usage to the tenant itself and to the admin; never across tenants', async () => {
    await http().post('/test/answer').set('X-API-Key', b.api_key).expect(200);
    const own = await http().get('/api/v1/usage?days=7').set('X-API-Key', a.api_key);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({
      tenant_id: a.tenant_id,
      tenant_name: a.name,
      period_days: 7,
      usage_by_provider: [
        expect.objectContaining({ provider: 'cache', requests: 1, tokens: 27, cost: 0 }),
        expect.objectContaining({ provider: 'openai', requests: 1, tokens: 27, cost: 0.00054 }),
      ],
    });
    const admin = await http()
      .get(`/api/v1/admin/tenants/${a.tenant_id}/usage?days=7`)
      .set('X-API-Key', adminKey);
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual(own.body);

    // B asks for its own usage and gets only its own; there is no way to name A.
    const other = await http()
      .get(`/api/v1/usage?days=7&tenant_id=${a.tenant_id}`)
      .set('X-API-Key', b.api_key)
      .set('X-Tenant-Id', a.tenant_id);
    expect(other.body.tenant_id).toBe(b.tenant_id);
    expect(other.body.usage_by_provider).toEqual([
      expect.objectContaining({ provider: 'openai', requests: 1, cost: 0.00054 }),
    ]);
    // Tenant keys cannot use the admin reports.
    for (const path of [
      `/api/v1/admin/tenants/${a.tenant_id}/usage`,
      '/api/v1/admin/usage',
      `/api/v1/admin/audit?tenant_id=${a.tenant_id}`,
    ]) {
      const res = await http().get(path).set('X-API-Key', b.api_key);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('wrong_key_scope');
    }
  });

  it('answers 404 for an unknown tenant and 400 naming a bad parameter', async () => {
    const missing = await http()
      .get('/api/v1/admin/tenants/00000000-0000-4000-8000-000000000000/usage')
      .set('X-API-Key', adminKey);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');

    for (const [path, param] of [
      [`/api/v1/usage?days=0`, 'days'],
      [`/api/v1/admin/usage?group_by=tenant,week`, 'group_by'],
      [`/api/v1/admin/usage?from=2025-02-02&to=2025-02-01`, 'from'],
      [`/api/v1/admin/audit?limit=1000`, 'limit'],
      [`/api/v1/admin/audit?cursor=nope`, 'cursor'],
      [`/api/v1/admin/audit?status=fine`, 'status'],
    ]) {
      const key = path.startsWith('/api/v1/admin') ? adminKey : a.api_key;
      const res = await http().get(path).set('X-API-Key', key);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param });
    }
  });

  it('serves the chargeback report as JSON and CSV', async () => {
    const json = await http()
      .get('/api/v1/admin/usage?group_by=tenant,provider')
      .set('X-API-Key', adminKey);
    expect(json.status).toBe(200);
    const rowA = json.body.data.find(
      (r: { tenant: string; provider: string }) =>
        r.tenant === a.tenant_id && r.provider === 'openai',
    );
    expect(rowA).toEqual({
      tenant: a.tenant_id,
      tenant_id: a.tenant_id,
      tenant_name: a.name,
      provider: 'openai',
      requests: 2,
      prompt_tokens: 24,
      completion_tokens: 30,
      cost: 0.00054,
      cache_hits: 1,
      cost_saved: 0.00054,
    });
    const csv = await http()
      .get('/api/v1/admin/usage?group_by=tenant&format=csv')
      .set('X-API-Key', adminKey);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe(
      'tenant,tenant_id,tenant_name,requests,prompt_tokens,completion_tokens,cost,cache_hits,cost_saved',
    );
    expect(csv.text).toContain(
      `${a.tenant_id},${a.tenant_id},${a.name},2,24,30,0.00054,1,0.00054\r\n`,
    );
  });

  it('lists audit records newest first with filters and a cursor', async () => {
    // Every tenant call is audited, report calls included.
    const all = await http()
      .get(`/api/v1/admin/audit?tenant_id=${a.tenant_id}`)
      .set('X-API-Key', adminKey);
    expect(all.status).toBe(200);
    expect(all.body.data.map((r: { endpoint: string; outcome: string }) => r.outcome)).toEqual([
      'invalid_request', // GET /api/v1/usage?days=0
      'success', // GET /api/v1/usage?days=7
      'not_found',
      'cached',
      'success', // the answer
    ]);
    expect(all.body.data[1]).toMatchObject({ endpoint: '/api/v1/usage', provider: null });

    const page1 = await http()
      .get(`/api/v1/admin/audit?tenant_id=${a.tenant_id}&provider=openai&limit=1`)
      .set('X-API-Key', adminKey);
    expect(page1.body.data).toEqual([expect.objectContaining({ outcome: 'cached', cost: 0 })]);
    const page2 = await http()
      .get(
        `/api/v1/admin/audit?tenant_id=${a.tenant_id}&provider=openai&limit=1&cursor=${page1.body.next_cursor}`,
      )
      .set('X-API-Key', adminKey);
    expect(page2.body).toEqual({
      data: [expect.objectContaining({ request_id: 'req-answer-1', cost: 0.00054 })],
      next_cursor: null,
    });
    const limited = await http()
      .get('/api/v1/admin/audit?status=rate_limited')
      .set('X-API-Key', adminKey);
    expect(limited.body.data).toEqual([
      expect.objectContaining({ request_id: 'req-limited-1', tenant_id: b.tenant_id }),
    ]);
  });

  it('answers during a Postgres outage once the record is in the local spool, and the record reaches Postgres after it', async () => {
    // Warm the key cache so authentication does not need Postgres during the outage.
    await http().post('/test/hit').set('X-API-Key', b.api_key).expect(200);
    const before = (await records(b.tenant_id)).length;
    await proxy.stop();
    const res = await http()
      .post('/test/answer')
      .set('X-API-Key', b.api_key)
      .set('X-Request-Id', 'req-during-outage');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true });
    expect(app.get(AuditWriter).spoolStatus()).toMatchObject({ mode: 'spooling', records: 1 });
    await proxy.start();
    const deadline = Date.now() + 10_000;
    while (app.get(AuditWriter).spoolStatus()!.records > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = await records(b.tenant_id);
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({
      request_id: 'req-during-outage',
      outcome: 'success',
      provider: 'openai',
    });
  });

  it('documents the report routes in OpenAPI with their parameters and examples', () => {
    const doc = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    const params = (path: string) =>
      Object.fromEntries(
        (
          doc.paths[path].get!.parameters as Array<{
            name: string;
            example?: unknown;
            schema?: { example?: unknown };
          }>
        ).map((p) => [p.name, p.example ?? p.schema?.example]),
      );
    expect(params('/api/v1/usage')).toEqual({ days: 30 });
    expect(params('/api/v1/admin/tenants/{id}/usage')).toMatchObject({ days: 30 });
    expect(params('/api/v1/admin/usage')).toMatchObject({
      format: 'json',
      group_by: 'tenant,provider',
    });
    expect(Object.keys(params('/api/v1/admin/usage')).sort()).toEqual(
      ['format', 'from', 'group_by', 'to'].sort(),
    );
    expect(params('/api/v1/admin/audit')).toMatchObject({ limit: 50, status: 'upstream_error' });
    expect(Object.keys(params('/api/v1/admin/audit')).sort()).toEqual(
      ['cursor', 'from', 'limit', 'model', 'provider', 'status', 'tenant_id', 'to'].sort(),
    );
    expect(doc.components?.schemas).toHaveProperty('AuditPageDto');
    expect(doc.components?.schemas).toHaveProperty('ChargebackReportDto');
    expect(doc.components?.schemas).toHaveProperty('UsageReportDto');
  });

  it('keeps nothing pending once the requests are answered', () => {
    expect(app.get(AuditWriter).pending).toBe(0);
  });
});
