import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { CompletionsController } from '../../libs/completions/src/completions.controller';
import { EmbeddingsController } from '../../libs/embeddings/src/embeddings.controller';
import { CompiledFastRoutes, compileFastRoutes } from '@gateway/http';
import { createTenant, startGateway, type TestGateway } from '../support/app';

/**
 * The request lifecycle is declared once, on the controllers; both ways in must run exactly that
 * declaration (libs/http compileFastRoutes proves the mechanism on a small app; this pins what the
 * gateway itself declares, so a step added, removed or reordered on either way in shows here).
 */
describe('request lifecycle (e2e)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the completion routes fast through their declared guards, interceptors and filters', () => {
    const guards = ['StrictQueryGuard', 'TenantAuthGuard', 'CompletionRequestGuard', 'LimitsGuard'];
    const interceptors = ['AuditInterceptor', 'CacheInterceptor'];
    const routes = compileFastRoutes(gw.app)
      .describe()
      .sort((a, b) => a.path.localeCompare(b.path));
    expect(routes).toEqual([
      {
        path: '/api/v1/chat/completions',
        handler: 'CompletionsController.chat',
        guards,
        interceptors,
        filters: ['GatewayExceptionFilter'],
      },
      {
        path: '/api/v1/completions',
        handler: 'CompletionsController.complete',
        guards,
        interceptors,
        filters: ['GatewayExceptionFilter'],
      },
      {
        path: '/v1/chat/completions',
        handler: 'CompletionsController.chat',
        guards,
        interceptors,
        filters: ['GatewayExceptionFilter'],
      },
      {
        path: '/v1/messages',
        handler: 'CompletionsController.messages',
        guards,
        interceptors,
        filters: ['AnthropicExceptionFilter', 'GatewayExceptionFilter'],
      },
    ]);
  });

  it('serves a plain JSON POST to the exact path on the fast route, its other spellings through Nest', async () => {
    const t = await createTenant(gw, { rate_limit: 100 });
    const body = { model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] };
    const run = jest.spyOn(CompiledFastRoutes.prototype as unknown as { run: () => void }, 'run');
    try {
      const fast = await gw
        .http()
        .post('/v1/chat/completions')
        .set('X-API-Key', t.api_key)
        .send(body);
      expect([fast.status, run.mock.calls.length]).toEqual([200, 1]);
      const nest = await gw
        .http()
        .post('/v1/chat/completions/')
        .set('X-API-Key', t.api_key)
        .send(body);
      expect([nest.status, run.mock.calls.length]).toEqual([200, 1]);
      expect(nest.body.choices).toEqual(fast.body.choices);
    } finally {
      run.mockRestore();
    }
  });

  it('declares the same limits guard and cache interceptor on embeddings as on completions', () => {
    const declared = (handler: object) => ({
      guards: (Reflect.getMetadata(GUARDS_METADATA, handler) as Array<{ name: string }>).map(
        (g) => g.name,
      ),
      interceptors: (
        Reflect.getMetadata(INTERCEPTORS_METADATA, handler) as Array<{ name: string }>
      ).map((i) => i.name),
    });
    expect(declared(CompletionsController.prototype.chat)).toEqual({
      guards: ['CompletionRequestGuard', 'LimitsGuard'],
      interceptors: ['CacheInterceptor'],
    });
    expect(declared(EmbeddingsController.prototype.embed)).toEqual({
      guards: ['EmbeddingRequestGuard', 'LimitsGuard'],
      interceptors: ['CacheInterceptor'],
    });
  });

  it('refuses a bad query string after authentication, audited, without taking a rate-limit slot', async () => {
    const t = await createTenant(gw, { rate_limit: 5 });
    const body = { model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] };
    const refused = await gw
      .http()
      .post('/v1/chat/completions?api-version=1')
      .set('X-API-Key', t.api_key)
      .send(body);
    expect([refused.status, refused.body.error?.param]).toEqual([400, 'api-version']);
    expect(refused.headers['x-ratelimit-remaining']).toBeUndefined();
    // Without a key, the query is never looked at: the key is.
    const anonymous = await gw.http().post('/v1/chat/completions?api-version=1').send(body);
    expect(anonymous.status).toBe(401);
    const ok = await gw.http().post('/api/v1/completions').set('X-API-Key', t.api_key).send(body);
    expect([ok.status, ok.body.rate_limit_remaining]).toEqual([200, 4]);
    const audit = await gw
      .http()
      .get(`/api/v1/admin/audit?tenant_id=${t.tenant_id}&limit=10`)
      .set('X-API-Key', gw.adminKey);
    const statuses = (audit.body.data as Array<{ status_code: number }>).map((r) => r.status_code);
    expect(statuses.sort()).toEqual([200, 400]);
  });
});
