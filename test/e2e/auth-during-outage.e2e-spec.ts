import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { createTenant, startGateway, type TestGateway } from '../support/app';
import type { TestDatabase } from '../support/database';
import { PgCluster } from '../support/pg-cluster';

/*
 * Serving through a Postgres outage is what the audit spool is for, so authentication must not be
 * what refuses: a key Postgres vouched for before the outage — but read longer ago than the fresh
 * key cache's KEY_CACHE_TTL_MS — keeps authenticating while Postgres is stopped or frozen, its
 * records spooled and replayed afterwards. A key revoked, or a tenant disabled, before the outage
 * is not served from that memory, and a key never seen is 503 until Postgres answers
 * (docs/api.md §11).
 */
jest.setTimeout(180_000);

const ANSWER_WITHIN_MS = 5_000;
/** Longer than KEY_CACHE_TTL_MS (800 ms by default): the fresh cache has forgotten every key. */
const PAST_FRESH_TTL_MS = 1_200;

async function privateDatabase(pg: PgCluster): Promise<TestDatabase> {
  const name = 'auth_outage_e2e';
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = pg.url(name);
  const dataSource = new DataSource(dataSourceOptions({ url, poolSize: 2 }, ENTITIES));
  await dataSource.initialize();
  await dataSource.runMigrations();
  return {
    name,
    url,
    dataSource,
    async drop() {
      await dataSource.destroy().catch(() => undefined);
    },
  };
}

interface Answer {
  status: number;
  code: string | null;
  ms: number;
  requestId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('authentication during a Postgres outage (e2e)', () => {
  let pg: PgCluster;
  let database: TestDatabase;
  let gw: TestGateway;

  beforeAll(async () => {
    pg = await PgCluster.start();
    database = await privateDatabase(pg);
    // AUDIT_DURABILITY=sync (the default): a 200 means its record is in Postgres or the spool.
    gw = await startGateway({ database });
  });

  afterAll(async () => {
    pg?.thaw();
    await gw?.close();
    await database?.drop();
    await pg?.destroy();
  });

  async function complete(key: string): Promise<Answer> {
    const requestId = `outage-${randomBytes(6).toString('hex')}`;
    const start = performance.now();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        'X-Request-Id': requestId,
      },
      body: JSON.stringify({
        model: 'mock-model',
        messages: [{ role: 'user', content: `outage ${requestId}` }],
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
    return {
      status: res.status,
      code: body.error?.code ?? null,
      ms: performance.now() - start,
      requestId,
    };
  }

  it('serves keys seen before the outage, not revoked ones nor unseen ones, stopped or frozen', async () => {
    const used = await createTenant(gw, { rate_limit: 10_000, monthly_budget: 100 });
    const revoked = await createTenant(gw, { rate_limit: 10_000, monthly_budget: 100 });
    const disabled = await createTenant(gw, { rate_limit: 10_000, monthly_budget: 100 });
    // Issued while Postgres is up, but never presented before the outage.
    const unseen = await createTenant(gw, { rate_limit: 10_000, monthly_budget: 100 });
    for (const t of [used, revoked, disabled]) expect((await complete(t.api_key)).status).toBe(200);

    const admin = (path: string) =>
      gw.http().delete(path).set('X-API-Key', gw.adminKey).expect(204);
    await admin(`/api/v1/admin/tenants/${revoked.tenant_id}/keys/${revoked.key_id}`);
    await admin(`/api/v1/admin/tenants/${disabled.tenant_id}`);
    await sleep(PAST_FRESH_TTL_MS);

    const acknowledged: string[] = [];
    const during = async (label: string) => {
      const answers: Answer[] = [];
      for (let i = 0; i < 3; i++) {
        const a = await complete(used.api_key);
        answers.push(a);
        expect({ label, status: a.status }).toEqual({ label, status: 200 });
        acknowledged.push(a.requestId);
        await sleep(300);
      }
      for (const key of [revoked.api_key, disabled.api_key, unseen.api_key]) {
        const a = await complete(key);
        answers.push(a);
        expect({ label, status: a.status, code: a.code }).toEqual({
          label,
          status: 503,
          code: 'dependency_unavailable',
        });
      }
      for (const a of answers) expect(a.ms).toBeLessThan(ANSWER_WITHIN_MS);
    };

    await pg.stop();
    try {
      await during('stopped');
    } finally {
      await pg.resume();
    }

    // Back: a lookup succeeds again (and is remembered afresh), then the fresh cache lapses again.
    await waitFor(async () => (await complete(used.api_key)).status === 200);
    await sleep(PAST_FRESH_TTL_MS);
    pg.freeze();
    try {
      await during('frozen');
    } finally {
      pg.thaw();
    }

    // After the outage Postgres answers for itself again: the revoked key is 401, the disabled tenant 403,
    // the unseen one works, and every acknowledged request's record made it from the spool.
    await waitFor(async () => (await complete(unseen.api_key)).status === 200);
    expect((await complete(revoked.api_key)).status).toBe(401);
    expect((await complete(disabled.api_key)).status).toBe(403);
    await waitFor(async () => {
      const rows = await database.dataSource.query<Array<{ n: number }>>(
        'SELECT count(DISTINCT request_id)::int AS n FROM request_records WHERE request_id = ANY($1)',
        [acknowledged],
      );
      return rows[0].n === acknowledged.length;
    });
  });
});

async function waitFor(check: () => Promise<boolean>, withinMs = 20_000): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return;
    if (performance.now() - start > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await sleep(250);
  }
}
