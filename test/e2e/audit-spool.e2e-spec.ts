import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTenant, startGateway, type CreatedTenant, type TestGateway } from '../support/app';
import { createPrivateDatabase, type TestDatabase } from '../support/database';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream';
import { PgCluster } from '../support/pg-cluster';

/*
 * A Postgres outage seen by a client of the real app: a request made while the database is
 * stopped is answered 200 (its record waits in the local spool), and once Postgres is back the
 * record is in the audit log exactly once. The database is a private cluster, never the shared one.
 */

describe('audit records through a Postgres outage (e2e)', () => {
  let pg: PgCluster;
  let db: TestDatabase;
  let fake: FakeUpstream;
  let gw: TestGateway;
  let t: CreatedTenant;
  const spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-spool-e2e-'));

  const complete = (requestId: string) =>
    gw
      .http()
      .post('/v1/chat/completions')
      .set('X-API-Key', t.api_key)
      .set('X-Request-Id', requestId)
      .set('Cache-Control', 'no-store')
      .send({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });

  beforeAll(async () => {
    pg = await PgCluster.start();
    db = await createPrivateDatabase(pg, 'llmgw_e2e_spool');
    fake = await startFakeUpstream({ name: 'fake' });
    gw = await startGateway({
      database: db,
      env: {
        OPENAI_BASE_URL: `${fake.url}/v1`,
        ANTHROPIC_BASE_URL: fake.url,
        AUDIT_SPOOL_DIR: spoolDir,
        KEY_CACHE_TTL_MS: '1000',
      },
    });
    t = await createTenant(gw);
  }, 90_000);

  afterAll(async () => {
    await gw?.close();
    await db?.drop();
    await fake?.close();
    await pg?.destroy();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('answers 200 while Postgres is stopped, and the record is in the audit log once after it returns', async () => {
    // Authentication trusts a key read from Postgres for up to KEY_CACHE_TTL_MS: warm it just
    // before the outage, so the request below is only about its record.
    expect((await complete('spool-e2e-warm')).status).toBe(200);
    await pg.stop();
    const res = await complete('spool-e2e-during');
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toEqual(expect.any(String));

    const health = await gw.http().get('/health');
    expect(health.body.checks.audit_spool).toMatchObject({ mode: 'spooling', records: 1 });
    const metrics = (await gw.http().get('/metrics')).text;
    expect(metrics).toMatch(/^llm_gateway_audit_spool_records 1$/m);
    expect(metrics).toMatch(/^llm_gateway_audit_pending 1$/m);
    expect(metrics).toMatch(/^llm_gateway_audit_spool_oldest_age_seconds [0-9.e-]+$/m);

    await pg.resume();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const h = await gw.http().get('/health');
      if (h.body.checks.audit_spool.records === 0) break;
      if (Date.now() > deadline) throw new Error('the spool did not drain within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const audit = await gw
      .http()
      .get(`/api/v1/admin/audit?tenant_id=${t.tenant_id}&limit=500`)
      .set('X-API-Key', gw.adminKey)
      .expect(200);
    const ids = (audit.body.data as Array<{ request_id: string }>).map((r) => r.request_id);
    expect(ids.filter((id) => id === 'spool-e2e-during')).toHaveLength(1);
    expect(ids.filter((id) => id === 'spool-e2e-warm')).toHaveLength(1);
    expect(
      audit.body.data.find((r: { request_id: string }) => r.request_id === 'spool-e2e-during'),
    ).toMatchObject({ status_code: 200, outcome: 'success' });
    expect((await gw.http().get('/metrics')).text).toMatch(/^llm_gateway_audit_pending 0$/m);
  }, 60_000);
});
