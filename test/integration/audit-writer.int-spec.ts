import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  AuditWriter,
  PostgresRecordSink,
  RecordSink,
  SpoolingRecordSink,
  type AuditRecord,
} from '@gateway/audit';
import { ConfigModule, GatewayConfigService, loadConfig } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics, ObservabilityModule } from '@gateway/observability';
import { dataSourceOptions } from '@gateway/persistence';
import { ENTITIES } from '../../apps/gateway/src/entities';
import { auditRecord } from '../support/audit-records';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { PgProxy } from '../support/pg-proxy';

/*
 * The group-commit writer against a real Postgres. Inserts are counted by a pass-through sink
 * around the real PostgresRecordSink (the writer is under test; the INSERTs are real), and an
 * outage is a real one: a TCP proxy in front of Postgres that stops accepting and cuts its sockets.
 */

const TEST_CATALOG = join(__dirname, '../support/catalog.test.yaml');

function config(env: Record<string, string> = {}) {
  return new GatewayConfigService(
    loadConfig({
      ADMIN_API_KEY: 'a'.repeat(40),
      GATEWAY_CONFIG: TEST_CATALOG,
      SHUTDOWN_GRACE_MS: '5000',
      ...env,
    }),
  );
}

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord =>
  auditRecord({ tenantId: TENANT, apiKeyId: KEY, ...overrides });

const TENANT = randomUUID();
const KEY = randomUUID();

/** The real Postgres sink, plus a log of each INSERT it committed. */
class CountingSink extends RecordSink {
  readonly batches: string[][] = [];
  /** Batches as the writer hands them over, before they commit. */
  readonly started: string[][] = [];
  readonly committed = new Set<string>();
  gate: Promise<void> | null = null;

  constructor(private readonly inner: PostgresRecordSink) {
    super();
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    this.started.push(records.map((r) => r.requestId));
    if (this.gate) await this.gate;
    await this.inner.write(records);
    this.batches.push(records.map((r) => r.requestId));
    for (const r of records) this.committed.add(r.requestId);
  }

  isTransient(err: unknown): boolean {
    return this.inner.isTransient(err);
  }
}

/** The real Postgres sink, counting the INSERT statements it sends. */
class InsertCountingSink extends PostgresRecordSink {
  count = 0;

  override insert(records: readonly AuditRecord[], timeoutMs: number): Promise<void> {
    this.count++;
    return super.insert(records, timeoutMs);
  }
}

async function rowCount(ds: DataSource, requestIds: string[]): Promise<number> {
  const rows: Array<{ n: string }> = await ds.query(
    'SELECT count(*) AS n FROM request_records WHERE request_id = ANY($1)',
    [requestIds],
  );
  return Number(rows[0].n);
}

async function pendingGauge(metrics: GatewayMetrics): Promise<number> {
  return (await metrics.auditPending.get()).values[0]?.value ?? 0;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AuditWriter (group commit on Postgres)', () => {
  let db: TestDatabase;
  let sink: CountingSink;
  const metrics = new GatewayMetrics();

  beforeAll(async () => {
    // Outage and refused-row warnings are expected here; the assertions check what they report.
    Logger.overrideLogger(false);
    db = await createTestDatabase('audit_writer');
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(() => {
    sink = new CountingSink(new PostgresRecordSink(db.dataSource));
  });

  it('puts concurrent records into far fewer INSERTs than records, each resolved only after its batch committed', async () => {
    const writer = new AuditWriter(sink, metrics, config());
    const records = Array.from({ length: 300 }, () => record());
    const resolvedBeforeCommit: string[] = [];
    const writes: Array<Promise<void>> = [];
    // Requests finish spread over many event-loop turns, as under real concurrency.
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      writes.push(
        writer.write(r).then(() => {
          if (!sink.committed.has(r.requestId)) resolvedBeforeCommit.push(r.requestId);
        }),
      );
      if (i % 3 === 0) await tick();
    }
    await Promise.all(writes);

    expect(resolvedBeforeCommit).toEqual([]);
    expect(sink.batches.flat().sort()).toEqual(records.map((r) => r.requestId).sort());
    expect(sink.batches.length).toBeLessThan(records.length / 5);
    expect(sink.batches.some((b) => b.length > 1)).toBe(true);
    expect(
      await rowCount(
        db.dataSource,
        records.map((r) => r.requestId),
      ),
    ).toBe(300);
    expect(writer.pending).toBe(0);
    expect(await pendingGauge(metrics)).toBe(0);
  });

  it('holds every write while its INSERT has not committed', async () => {
    const writer = new AuditWriter(sink, metrics, config());
    let open!: () => void;
    sink.gate = new Promise<void>((resolve) => (open = resolve));
    let resolved = 0;
    const writes = Array.from({ length: 20 }, () => writer.write(record()).then(() => resolved++));
    await new Promise((r) => setTimeout(r, 100));
    expect(resolved).toBe(0);
    expect(writer.pending).toBe(20);
    expect(await pendingGauge(metrics)).toBe(20);
    sink.gate = null;
    open();
    await Promise.all(writes);
    expect(resolved).toBe(20);
    // An idle writer sends its first record at once (lone traffic); the 19 written while that
    // INSERT was held went together into the next batch.
    expect(sink.batches.map((b) => b.length)).toEqual([1, 19]);
  });

  it('sends a lone record at once, and gathers the records of one event-loop turn once batches hold several', async () => {
    const writer = new AuditWriter(sink, metrics, config());
    // Idle, nothing batched yet: the INSERT starts inside write(), before the turn ends.
    const lone = writer.write(record());
    expect(sink.started).toHaveLength(1);
    await lone;
    await tick(); // the writer is idle again
    // A burst: the first goes alone, the rest of the turn queue behind it and go together.
    await Promise.all(Array.from({ length: 10 }, () => writer.write(record())));
    expect(sink.started.slice(1).map((b) => b.length)).toEqual([1, 9]);
    await tick();
    // The last batch held several: the next idle write waits for its turn's companions.
    const turn = Array.from({ length: 5 }, () => writer.write(record()));
    expect(sink.started).toHaveLength(3);
    await Promise.all(turn);
    expect(sink.started.slice(3).map((b) => b.length)).toEqual([5]);
  });

  it('writes a lone record at once (no timer wait) and caps batches at AUDIT_BATCH_MAX_ROWS', async () => {
    const writer = new AuditWriter(sink, metrics, config({ AUDIT_BATCH_MAX_ROWS: '10' }));
    const started = process.hrtime.bigint();
    await writer.write(record());
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);

    const records = Array.from({ length: 95 }, () => record());
    await Promise.all(records.map((r) => writer.write(r)));
    const later = sink.batches.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...later.map((b) => b.length))).toBeLessThanOrEqual(10);
    expect(
      await rowCount(
        db.dataSource,
        records.map((r) => r.requestId),
      ),
    ).toBe(95);
  });

  it('stores every column as given, money as exact BIGINT units', async () => {
    const writer = new AuditWriter(sink, metrics, config());
    const r = record({
      model: 'weird "model", with\ncommas',
      provider: null,
      providerModel: null,
      outcome: 'upstream_error',
      statusCode: 502,
      costUnits: 9_007_199_254_740_991,
      costSavedUnits: 1,
      upstreamLatencyMs: null,
      cached: true,
      attempts: [
        { provider: 'openai', outcome: 'timeout', latency_ms: 2000 },
        { provider: 'anthropic', outcome: 'error', latency_ms: 12 },
      ],
      errorCode: 'all_providers_failed',
      createdAt: new Date('2025-03-04T05:06:07.089Z'),
    });
    await writer.write(r);
    const [row] = await db.dataSource.query(
      `SELECT request_id, tenant_id, api_key_id, created_at, endpoint, model, provider,
              provider_model, status_code, outcome, prompt_tokens, completion_tokens,
              cost_units::text, cost_saved_units::text, latency_ms, upstream_latency_ms, cached,
              attempts, error_code
         FROM request_records WHERE request_id = $1`,
      [r.requestId],
    );
    expect(row).toEqual({
      request_id: r.requestId,
      tenant_id: TENANT,
      api_key_id: KEY,
      created_at: new Date('2025-03-04T05:06:07.089Z'),
      endpoint: '/api/v1/completions',
      model: 'weird "model", with\ncommas',
      provider: null,
      provider_model: null,
      status_code: 502,
      outcome: 'upstream_error',
      prompt_tokens: 12,
      completion_tokens: 15,
      cost_units: '9007199254740991',
      cost_saved_units: '1',
      latency_ms: 40,
      upstream_latency_ms: null,
      cached: true,
      attempts: r.attempts,
      error_code: 'all_providers_failed',
    });
  });

  it('isolates a record Postgres refuses without re-running its batch row by row, and keeps it', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-spool-poison-'));
    const cfg = config({ AUDIT_SPOOL_DIR: spoolDir });
    const inserts = new InsertCountingSink(db.dataSource);
    const spooling = new SpoolingRecordSink(inserts, metrics, cfg);
    await spooling.onModuleInit();
    const writer = new AuditWriter(spooling, metrics, cfg);
    try {
      // A clean batch of 500 first: the yardstick for "normal speed".
      const clean = Array.from({ length: 500 }, () => record());
      let t = process.hrtime.bigint();
      await Promise.all(clean.map((r) => writer.write(r)));
      const cleanMs = Number(process.hrtime.bigint() - t) / 1e6;
      const cleanInserts = inserts.count;

      // 500 records of several tenants in one batch: one carries a count Postgres refuses
      // (int4 overflow, 22003), one a NUL in its model (escaped, stored).
      const batch = Array.from({ length: 500 }, () => record({ tenantId: randomUUID() }));
      batch[137] = record({ promptTokens: 2 ** 31 });
      batch[300] = record({ model: 'x\u0000y' });
      inserts.count = 0;
      t = process.hrtime.bigint();
      const results = await Promise.allSettled(batch.map((r) => writer.write(r)));
      const poisonedMs = Number(process.hrtime.bigint() - t) / 1e6;

      // Every write resolves: the refused record is durable in rejected.spool, not dropped.
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const ids = batch.map((r) => r.requestId);
      expect(await rowCount(db.dataSource, ids)).toBe(499);
      expect(await rowCount(db.dataSource, [batch[137].requestId])).toBe(0);
      const [nul] = await db.dataSource.query<Array<{ model: string }>>(
        'SELECT model FROM request_records WHERE request_id = $1',
        [batch[300].requestId],
      );
      expect(nul.model).toBe('x\\u0000y');
      const rejected = readFileSync(join(spoolDir, 'rejected.spool'), 'utf8');
      expect(rejected).toContain(batch[137].requestId);
      expect(rejected.trim().split('\n')).toHaveLength(1);
      expect(spooling.backlog).toBe(0);

      // Halving: about 2·log2(500) ≈ 18 INSERTs, not 500 single-row ones; and no slower than a
      // handful of clean batches (generous: the machine is shared).
      expect(inserts.count).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(500)) + 2);
      expect(cleanInserts).toBeGreaterThan(0);
      expect(poisonedMs).toBeLessThan(Math.max(10 * cleanMs, 1_000));
    } finally {
      await spooling.close(0);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });

  describe('Postgres outage', () => {
    let proxy: PgProxy;
    let ds: DataSource;

    beforeEach(async () => {
      proxy = new PgProxy();
      await proxy.start();
      ds = new DataSource(
        dataSourceOptions(
          { url: db.url.replace(':5432/', `:${proxy.port}/`), migrateOnBoot: false, poolSize: 2 },
          ENTITIES,
        ),
      );
      await ds.initialize();
      sink = new CountingSink(new PostgresRecordSink(ds));
    });
    afterEach(async () => {
      await proxy.close();
      await ds.destroy().catch(() => undefined);
    });

    it('sync, on the bare Postgres sink (no spool): a write that cannot commit is refused with 503 dependency_unavailable, and works again after recovery', async () => {
      const writer = new AuditWriter(sink, metrics, config());
      await writer.write(record());
      await proxy.stop();

      const failed = await Promise.allSettled([writer.write(record()), writer.write(record())]);
      for (const f of failed) {
        expect(f.status).toBe('rejected');
        const err = (f as PromiseRejectedResult).reason as GatewayError;
        expect(err).toBeInstanceOf(GatewayError);
        expect(err.code).toBe('dependency_unavailable');
        expect(err.status).toBe(503);
      }
      expect(writer.pending).toBe(0);

      await proxy.start();
      const r = record();
      await writer.write(r);
      expect(await rowCount(db.dataSource, [r.requestId])).toBe(1);
    });

    it('async: writes return at once, stay pending through the outage, and are all committed after it', async () => {
      const writer = new AuditWriter(sink, metrics, config({ AUDIT_DURABILITY: 'async' }));
      await proxy.stop();
      const records = Array.from({ length: 40 }, () => record());
      const started = Date.now();
      for (const r of records) await writer.write(r);
      expect(Date.now() - started).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 300));
      expect(writer.pending).toBe(40);
      expect(await pendingGauge(metrics)).toBe(40);
      expect(
        await rowCount(
          db.dataSource,
          records.map((r) => r.requestId),
        ),
      ).toBe(0);

      await proxy.start();
      expect(await writer.flush(10_000)).toBe(0);
      expect(
        await rowCount(
          db.dataSource,
          records.map((r) => r.requestId),
        ),
      ).toBe(40);
      expect(await pendingGauge(metrics)).toBe(0);
    });

    it('flush gives up after its timeout and reports what is still pending', async () => {
      const writer = new AuditWriter(sink, metrics, config({ AUDIT_DURABILITY: 'async' }));
      await proxy.stop();
      for (let i = 0; i < 3; i++) await writer.write(record());
      expect(await writer.flush(300)).toBe(3);
      await proxy.start();
      expect(await writer.flush(10_000)).toBe(0);
    });
  });

  it('drains everything when the app shuts down, before TypeORM closes its pool', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config({ AUDIT_DURABILITY: 'async', DATABASE_URL: db.url }).config),
        ObservabilityModule,
        TypeOrmModule.forRoot(
          dataSourceOptions({ url: db.url, migrateOnBoot: false, poolSize: 2 }, ENTITIES),
        ),
      ],
      providers: [{ provide: RecordSink, useClass: PostgresRecordSink }, AuditWriter],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const writer = app.get(AuditWriter);
    const records = Array.from({ length: 250 }, () => record());
    for (const r of records) await writer.write(r);
    expect(writer.pending).toBeGreaterThan(0);
    await app.close();
    expect(writer.pending).toBe(0);
    expect(
      await rowCount(
        db.dataSource,
        records.map((r) => r.requestId),
      ),
    ).toBe(250);
  });
});
