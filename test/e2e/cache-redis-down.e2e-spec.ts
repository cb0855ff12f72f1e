import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import { freePort } from '../support/process';
import { startRedis } from '../support/redis-process';

describe('cache with Redis stopped (e2e)', () => {
  let redis: ChildProcess;
  let port: number;
  let fake: FakeUpstream;
  let gw: TestGateway;
  let tenant: CreatedTenant;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    fake = await startFakeUpstream({ name: 'openai' });
    gw = await startGateway({
      env: {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        BUDGET_FAILURE_POLICY: 'fail-open',
      },
    });
    tenant = await createTenant(gw, { rate_limit: 1000, monthly_budget: null });
  });
  afterAll(async () => {
    // Closed while Redis is still dead: shutdown must not wait for it.
    const closing = Date.now();
    await gw?.close();
    expect(Date.now() - closing).toBeLessThan(5_000);
    await fake?.close();
    if (redis && redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
  });

  const ask = (content: string) =>
    gw
      .http()
      .post('/api/v1/completions')
      .set('X-API-Key', tenant.api_key)
      .send({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50 });

  it('answers with X-Cache: BYPASS, no error and no long wait', async () => {
    const cachedQuestion = `What are your opening hours? ${randomBytes(4).toString('hex')}`;
    expect((await ask(cachedQuestion)).headers['x-cache']).toBe('MISS');
    expect((await ask(cachedQuestion)).headers['x-cache']).toBe('HIT');

    const exited = new Promise((r) => redis.once('exit', r));
    redis.kill('SIGKILL');
    await exited;

    for (const question of [cachedQuestion, `A new question ${randomBytes(4).toString('hex')}`]) {
      const started = Date.now();
      const res = await ask(question);
      expect(res.status).toBe(200);
      expect(res.headers['x-cache']).toBe('BYPASS');
      expect(res.body.cached).toBe(false);
      expect(res.body.response.content).toEqual(expect.any(String));
      expect(Date.now() - started).toBeLessThan(1_000);
    }
  });
});
