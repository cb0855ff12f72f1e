import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  AuditWriter,
  PostgresRecordSink,
  SpoolingRecordSink,
  type AuditRecord,
} from '@gateway/audit';
import { GatewayConfigService, loadConfig } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { auditRecord } from '../support/audit-records';
import { PgCluster } from '../support/pg-cluster';

/*
 * The audit outage spool against a private Postgres cluster that is really stopped and frozen
 * (never the shared server): records written meanwhile are durable in the spool, replayed once
 * Postgres is back, exactly once each, also across a process restart.
 */

const TEST_CATALOG = join(__dirname, '../support/catalog.test.yaml');
const TENANT = randomUUID();
const KEY = randomUUID();
const INSERT_TIMEOUT_MS = 400;

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord =>
  auditRecord({ tenantId: TENANT, apiKeyId: KEY, endpoint: '/v1/chat/completions', ...overrides });

describe('audit spool (private Postgres, stopped and frozen)', () => {
  let pg: PgCluster;
  let url: string;
  let ds: DataSource;
  let check: DataSource | null = null;
  let spoolDir: string;
  const metrics = new GatewayMetrics();
  const opened: Array<{ writer: AuditWriter; sink: SpoolingRecordSink }> = [];

  function config(env: Record<string, string> = {}) {
    return new GatewayConfigService(
      loadConfig({
        ADMIN_API_KEY: 'a'.repeat(40),
        GATEWAY_CONFIG: TEST_CATALOG,
        AUDIT_SPOOL_DIR: spoolDir,
        AUDIT_INSERT_TIMEOUT_MS: String(INSERT_TIMEOUT_MS),
        SHUTDOWN_GRACE_MS: '2000',
        ...env,
      }),
    );
  }

  /** What the app wires: the writer on the spooling sink, with the sink's lifecycle hooks run. */
  async function open(env: Record<string, string> = {}) {
    const cfg = config(env);
    const sink = new SpoolingRecordSink(new PostgresRecordSink(ds), metrics, cfg);
    await sink.onModuleInit();
    sink.onApplicationBootstrap();
    const writer = new AuditWriter(sink, metrics, cfg);
    opened.push({ writer, sink });
    return { writer, sink };
  }

  async function rows(ids: string[]): Promise<{ total: number; distinct: number }> {
    check ??= await new DataSource(
      dataSourceOptions({ url, migrateOnBoot: false, poolSize: 1 }, ENTITIES),
    ).initialize();
    const [r] = await check.query<Array<{ total: number; distinct: number }>>(
      'SELECT count(*)::int AS total, count(DISTINCT request_id)::int AS distinct FROM request_records WHERE request_id = ANY($1)',
      [ids],
    );
    return r;
  }

  async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    Logger.overrideLogger(false);
    pg = await PgCluster.start();
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE llmgw_spool');
    await admin.end();
    url = pg.url('llmgw_spool');
    const migrate = new DataSource(
      dataSourceOptions({ url, migrateOnBoot: false, poolSize: 1 }, ENTITIES),
    );
    await migrate.initialize();
    await migrate.runMigrations();
    await migrate.destroy();
  }, 60_000);

  afterAll(async () => {
    await check?.destroy().catch(() => undefined);
    await pg?.destroy();
  });

  beforeEach(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-spool-int-'));
    ds = await new DataSource(
      dataSourceOptions({ url, migrateOnBoot: false, poolSize: 4 }, ENTITIES),
    ).initialize();
  });

  afterEach(async () => {
    pg.thaw();
    for (const { sink } of opened.splice(0)) await sink.close(0);
    await ds.destroy().catch(() => undefined);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('stopped: sync writes resolve from the spool, and every record is replayed exactly once when Postgres returns', async () => {
    const { writer, sink } = await open();
    const before = record();
    await writer.write(before);
    expect(await rows([before.requestId])).toEqual({ total: 1, distinct: 1 });

    await pg.stop();
    const during = Array.from({ length: 300 }, () => record());
    const started = Date.now();
    await Promise.all(during.map((r) => writer.write(r)));
    expect(Date.now() - started).toBeLessThan(INSERT_TIMEOUT_MS + 2_000);
    expect(sink.status()).toMatchObject({ mode: 'spooling', records: 300 });
    expect((await metrics.auditPending.get()).values[0].value).toBe(300);
    expect((await metrics.auditSpoolRecords.get()).values[0].value).toBe(300);

    await pg.resume();
    await until('the spool drained', () => sink.backlog === 0);
    expect(await rows(during.map((r) => r.requestId))).toEqual({ total: 300, distinct: 300 });
    expect(sink.status()).toMatchObject({ mode: 'postgres', records: 0, oldestAgeSeconds: 0 });
    expect((await metrics.auditPending.get()).values[0].value).toBe(0);
    expect(readdirSync(spoolDir).filter((n) => n.startsWith('segment-'))).toEqual([]);

    // Back on Postgres directly: a new record does not touch the spool.
    const after = record();
    await writer.write(after);
    expect(sink.backlog).toBe(0);
    expect(await rows([after.requestId])).toEqual({ total: 1, distinct: 1 });
  }, 60_000);

  it('frozen: a batch past AUDIT_INSERT_TIMEOUT_MS is spooled in time, and the INSERT that commits after the thaw is not duplicated', async () => {
    const { writer, sink } = await open();
    await writer.write(record()); // a pooled connection exists, so the INSERT reaches the frozen backend
    pg.freeze();
    const during = Array.from({ length: 50 }, () => record());
    const started = Date.now();
    await Promise.all(during.map((r) => writer.write(r)));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(INSERT_TIMEOUT_MS - 20);
    expect(waited).toBeLessThan(INSERT_TIMEOUT_MS + 1_500);
    expect(sink.status()?.mode).toBe('spooling');

    // Later requests during the freeze do not each wait for the deadline again.
    const later = record();
    const t = Date.now();
    await writer.write(later);
    expect(Date.now() - t).toBeLessThan(INSERT_TIMEOUT_MS);

    await new Promise((r) => setTimeout(r, 1_000));
    pg.thaw();
    await until('the spool drained', () => sink.backlog === 0);
    const ids = [...during, later].map((r) => r.requestId);
    expect(await rows(ids)).toEqual({ total: 51, distinct: 51 });
  }, 60_000);

  it('restart: a new process replays what the last one spooled, past a torn last line', async () => {
    const first = await open();
    await pg.stop();
    const during = Array.from({ length: 40 }, () => record());
    await Promise.all(during.map((r) => first.writer.write(r)));
    expect(first.sink.backlog).toBe(40);
    // The process dies: its replayer stops for good (here it shares our process, and would race
    // the second one for the segment once Postgres is back), then half a line at the end of its
    // segment, as an append cut off mid-write leaves it.
    await first.sink.close(0);
    const [segment] = readdirSync(spoolDir).filter((n) => n.startsWith('segment-'));
    appendFileSync(join(spoolDir, segment), '0badc0de {"requestId":"req-torn","tena');
    opened.splice(0);

    await pg.resume();
    const second = await open();
    await until('the spool drained', () => second.sink.backlog === 0);
    expect(await rows(during.map((r) => r.requestId))).toEqual({ total: 40, distinct: 40 });
    expect(await rows(['req-torn'])).toEqual({ total: 0, distinct: 0 });
  }, 60_000);

  it('full: when neither Postgres nor the spool can take a record, sync writes are refused with 503 and the records are logged', async () => {
    const logged: unknown[] = [];
    const spy = jest.spyOn(Logger.prototype, 'error').mockImplementation((msg: unknown) => {
      logged.push(msg);
    });
    try {
      const { writer, sink } = await open({ AUDIT_SPOOL_MAX_BYTES: String(1024 * 1024) });
      await pg.stop();
      const many = Array.from({ length: 3_000 }, () => record());
      const results = await Promise.allSettled(many.map((r) => writer.write(r)));
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      const stored = results.length - refused.length;
      expect(stored).toBe(sink.backlog);
      expect(stored).toBeGreaterThan(1_000);
      expect(refused.length).toBeGreaterThan(0);
      const err = refused[0].reason as GatewayError;
      expect(err).toBeInstanceOf(GatewayError);
      expect(err.status).toBe(503);
      expect(err.code).toBe('dependency_unavailable');
      expect(sink.status()!.bytes).toBeLessThanOrEqual(1024 * 1024);
      const loggedIds = new Set(
        logged.flatMap((m) =>
          ((m as { records?: Array<{ requestId: string }> }).records ?? []).map((r) => r.requestId),
        ),
      );
      const refusedIds = many.filter((_, i) => results[i].status === 'rejected');
      expect(refusedIds.every((r) => loggedIds.has(r.requestId))).toBe(true);

      await pg.resume();
      await until('the spool drained', () => sink.backlog === 0);
      expect((await rows(many.map((r) => r.requestId))).total).toBe(stored);
    } finally {
      spy.mockRestore();
    }
  }, 90_000);
});
