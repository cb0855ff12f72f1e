import { createTenant, startGateway, type TestGateway } from '../support/app';
import { createPrivateDatabase, type TestDatabase } from '../support/database';
import { PgCluster } from '../support/pg-cluster';

/*
 * A Postgres that stops answering (SIGSTOP of every process of a private cluster: sockets stay
 * open, nothing answers — what a hung server or a dropped network looks like) must never hang a
 * request: every request is answered within 5 s, with the pool's default deadlines, either
 * successfully where Postgres is not needed (a warm key, admission in Redis, records written
 * asynchronously here: the audit spool has its own test) or with 503 `dependency_unavailable` and
 * Retry-After; readiness reports it within its own short deadline; all of it recovers on SIGCONT.
 */
jest.setTimeout(180_000);

const ANSWER_WITHIN_MS = 5_000;
/** Well formed, never issued: its lookup needs Postgres. */
const UNKNOWN_KEY = `llm-gw-${'Unknown0'.repeat(5)}`;

interface Answer {
  status: number;
  code: string | null;
  retryAfter: string | null;
  ms: number;
}

async function timedFetch(url: string, init?: RequestInit): Promise<Answer> {
  const start = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return {
    status: res.status,
    code: body.error?.code ?? null,
    retryAfter: res.headers.get('retry-after'),
    ms: performance.now() - start,
  };
}

describe('a frozen Postgres (e2e)', () => {
  let pg: PgCluster;
  let database: TestDatabase;
  let gw: TestGateway;
  let apiKey: string;

  beforeAll(async () => {
    pg = await PgCluster.start();
    database = await createPrivateDatabase(pg, 'frozen_e2e');
    gw = await startGateway({ database, env: { AUDIT_DURABILITY: 'async' } });
    const tenant = await createTenant(gw, { rate_limit: 10_000, monthly_budget: 100 });
    apiKey = tenant.api_key;
  });

  afterAll(async () => {
    pg?.thaw();
    await gw?.close();
    await database?.drop();
    await pg?.destroy();
  });

  const complete = (key: string, i: number) =>
    timedFetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'mock-model',
        messages: [{ role: 'user', content: `frozen ${i} ${Date.now()}` }],
      }),
    });

  it('answers every request within 5 s, reports not ready, and recovers on thaw', async () => {
    expect((await timedFetch(`${gw.url}/health/ready`)).status).toBe(200);
    expect((await complete(apiKey, 0)).status).toBe(200);

    pg.freeze();
    const frozenAt = performance.now();
    let ready: Answer[] = [];
    let answers: Answer[] = [];
    try {
      // Requests arriving over 6 s of the outage: a key whose cache entry is warm, then expired
      // (KEY_CACHE_TTL_MS: served from its last known answer, test/e2e/auth-during-outage), and
      // an unknown key (a lookup Postgres cannot answer).
      const requests = Array.from({ length: 30 }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 200)).then(() =>
          complete(i % 10 === 9 ? UNKNOWN_KEY : apiKey, i),
        ),
      );
      const probes = Array.from({ length: 6 }, (_, i) =>
        new Promise((r) => setTimeout(r, 500 + i * 1_000)).then(() =>
          timedFetch(`${gw.url}/health/ready`),
        ),
      );
      [answers, ready] = await Promise.all([Promise.all(requests), Promise.all(probes)]);
    } finally {
      pg.thaw();
    }
    const frozenFor = performance.now() - frozenAt;
    expect(frozenFor).toBeGreaterThan(6_000);

    for (const a of answers) {
      expect(a.ms).toBeLessThan(ANSWER_WITHIN_MS);
      if (a.status !== 200) {
        expect(a).toEqual(expect.objectContaining({ status: 503, code: 'dependency_unavailable' }));
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      }
    }
    // A key never seen needs Postgres.
    expect(answers.some((a) => a.status === 503)).toBe(true);

    for (const r of ready) {
      expect(r.status).toBe(503);
      expect(r.retryAfter).toBe('5');
      expect(r.ms).toBeLessThan(1_500);
    }

    // Back: readiness and requests recover within seconds of the thaw.
    const thawedAt = performance.now();
    for (;;) {
      const r = await timedFetch(`${gw.url}/health/ready`);
      if (r.status === 200) break;
      if (performance.now() - thawedAt > 10_000) throw new Error('not ready 10 s after thaw');
      await new Promise((res) => setTimeout(res, 200));
    }
    const readyAfterMs = performance.now() - thawedAt;
    expect(readyAfterMs).toBeLessThan(5_000);
    const after = await complete(apiKey, 99);
    expect(after.status).toBe(200);
    // The figures docs/operations.md (Failure modes) quotes.
    const count = (status: number) => answers.filter((a) => a.status === status).length;
    process.stdout.write(
      `frozen Postgres: ${answers.length} requests, ${count(200)} × 200, ${count(503)} × 503, ` +
        `slowest ${Math.round(Math.max(...answers.map((a) => a.ms)))} ms; ready 503 in ≤ ` +
        `${Math.round(Math.max(...ready.map((r) => r.ms)))} ms; ready again ` +
        `${Math.round(readyAfterMs)} ms after thaw\n`,
    );
  });
});
