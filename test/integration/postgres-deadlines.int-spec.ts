import { Client, type Pool } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, pgPool } from '@gateway/persistence';
import { PgCluster } from '../support/pg-cluster';

jest.setTimeout(120_000);

/*
 * The pool's deadlines against a private Postgres that is frozen (SIGSTOP: sockets open, nothing
 * answers), as a hung server or a dropped network looks to the gateway. Short deadlines keep the
 * test quick; the defaults are the same mechanism with larger numbers.
 */
const DEADLINES = {
  connectTimeoutMs: 600,
  queryTimeoutMs: 1_000,
  statementTimeoutMs: 800,
  idleInTransactionTimeoutMs: 700,
  keepAliveIdleMs: 5_000,
};

async function timed<T>(work: Promise<T>): Promise<{ ms: number; error: Error | null }> {
  const start = performance.now();
  try {
    await work;
    return { ms: performance.now() - start, error: null };
  } catch (err) {
    return { ms: performance.now() - start, error: err as Error };
  }
}

describe('Postgres deadlines (private cluster)', () => {
  let pg: PgCluster;
  let ds: DataSource;
  let pool: Pool;

  beforeAll(async () => {
    pg = await PgCluster.start();
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE deadlines');
    await admin.end();
    ds = new DataSource(
      dataSourceOptions({ url: pg.url('deadlines'), poolSize: 3, ...DEADLINES }, []),
    );
    await ds.initialize();
    pool = pgPool(ds);
  });

  afterAll(async () => {
    pg?.thaw();
    await ds?.destroy().catch(() => undefined);
    await pg?.destroy();
  });

  it('sets the server-side timeouts on every connection', async () => {
    const rows = await ds.query<Array<{ st: string; idle: string; app: string }>>(
      `SELECT current_setting('statement_timeout') AS st,
              current_setting('idle_in_transaction_session_timeout') AS idle,
              current_setting('application_name') AS app`,
    );
    expect(rows[0]).toEqual({ st: '800ms', idle: '700ms', app: 'llm-gateway' });
  });

  it('a statement running past statement_timeout is cancelled by the server; the pool is unharmed', async () => {
    const r = await timed(ds.query('SELECT pg_sleep(5)'));
    expect((r.error as { driverError?: { code?: string } } | null)?.driverError?.code).toBe(
      '57014',
    );
    expect(r.ms).toBeLessThan(1_000);
    await expect(ds.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });

  it('a transaction left idle is ended by the server, releasing its locks', async () => {
    const runner = ds.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query('SELECT pg_advisory_xact_lock(42)');
      await new Promise((r) => setTimeout(r, 1_500));
      // Another session can take the lock at once: the idle transaction's session is gone.
      const other = await timed(
        ds.query(`SET LOCAL lock_timeout = '200ms'; SELECT pg_advisory_xact_lock(42)`),
      );
      expect(other.error).toBeNull();
      await expect(runner.query('SELECT 1')).rejects.toThrow();
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  });

  it('frozen: every call fails within connect + query timeout, the pool stays bounded, and it recovers on thaw', async () => {
    await ds.query('SELECT 1');
    pg.freeze();
    try {
      // More calls than connections: some wait for a free connection, some for an answer.
      const calls = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          timed(i % 2 === 0 ? ds.query('SELECT 1') : pool.query('SELECT 1')),
        ),
      );
      for (const c of calls) {
        expect(c.error).not.toBeNull();
        expect(c.ms).toBeLessThan(DEADLINES.connectTimeoutMs + DEADLINES.queryTimeoutMs + 1_000);
      }
      // Connections whose query timed out are dropped, not handed out again to wait behind it.
      // (TypeORM hands a connection back as healthy after pg's query timeout; without
      // DeadlineClient it would sit idle in the pool, stuck behind its unanswered query.)
      expect(pool.idleCount).toBe(0);
      const again = await timed(ds.query('SELECT 1'));
      expect(again.error).not.toBeNull();
      expect(again.ms).toBeLessThan(DEADLINES.connectTimeoutMs + DEADLINES.queryTimeoutMs + 1_000);
    } finally {
      pg.thaw();
    }
    const start = Date.now();
    for (;;) {
      const r = await timed(ds.query('SELECT 1'));
      if (!r.error) break;
      if (Date.now() - start > 10_000) throw r.error;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(Date.now() - start).toBeLessThan(5_000);
  });
});
