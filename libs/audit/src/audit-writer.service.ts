import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { GatewayConfigService } from '@gateway/config';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import type { AuditRecord } from './audit-record';
import { RecordSink, type SpoolStatus } from './record-sink';

interface Pending {
  readonly record: AuditRecord;
  /** Absent in async mode: nobody waits for the commit. */
  readonly resolve?: () => void;
  readonly reject?: (err: unknown) => void;
}

/** Async mode keeps at most this many batches in memory; beyond it writers wait (backpressure). */
const ASYNC_QUEUE_BATCHES = 20;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * Group-commit writer for request records.
 *
 * At most one batch is in flight. Records that arrive meanwhile queue up and all go into the next
 * batch (up to `AUDIT_BATCH_MAX_ROWS`), so under concurrency a request never pays its own round
 * trip, and with no concurrency a record is written at once (no timer adds latency). Under load
 * (the last batch held more than one record) the first write of an idle writer waits one
 * `setImmediate`, so records finishing in the same event-loop turn share the batch; a lone request
 * (the last batch held one) sends its INSERT at once, ahead of the Redis commands its request
 * queued for the same turn (about 0.03 ms of the record stage on the bench machine).
 *
 * Batches go to the RecordSink: in the app, SpoolingRecordSink, which writes to Postgres within
 * `AUDIT_INSERT_TIMEOUT_MS` or else to the local spool (fsync'd), and isolates records Postgres
 * refuses. So a batch fails here only when neither Postgres nor the spool can take it.
 *
 * Durability (`AUDIT_DURABILITY`):
 * - `sync` (default): `write()` resolves only after the record's batch is durable (in Postgres or
 *   the spool), so a response sent after it has a durable record. If the batch fails, every
 *   waiter is rejected with a 503 `dependency_unavailable` (the caller answers that instead of the
 *   result) and the records are logged, so even a refused request leaves a trace.
 * - `async`: `write()` resolves at once; a crash loses what is queued. Failed batches stay queued
 *   and are retried with backoff; when the queue is full, `write()` waits for room instead of
 *   dropping records.
 *
 * `llm_gateway_audit_pending` counts records not yet in Postgres: queued, in flight, or spooled.
 */
@Injectable()
export class AuditWriter implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('AuditWriter');
  private readonly sync: boolean;
  private readonly maxRows: number;
  private readonly maxQueued: number;
  private readonly shutdownGraceMs: number;

  // Bounded: in sync mode by the requests in flight, in async mode by maxQueued.
  private queue: Pending[] = [];
  private inFlight = 0;
  private draining = false;
  private scheduled = false;
  /** Rows of the last batch sent: 0 or 1 means lone traffic, where gathering has nothing to gather. */
  private lastBatchRows = 0;
  private retryDelayMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryWake: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  private spaceWaiters: Array<() => void> = [];

  constructor(
    private readonly sink: RecordSink,
    private readonly metrics: GatewayMetrics,
    config: GatewayConfigService,
  ) {
    const { audit, server } = config.config;
    this.sync = audit.durability === 'sync';
    this.maxRows = audit.batchMaxRows;
    this.maxQueued = audit.batchMaxRows * ASYNC_QUEUE_BATCHES;
    this.shutdownGraceMs = server.shutdownGraceMs;
    sink.onBacklogChange(() => this.publishPending());
  }

  /** Records accepted and not yet durable (queued or in the batch in flight). */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  write(record: AuditRecord): Promise<void> {
    if (this.sync) {
      return new Promise<void>((resolve, reject) => {
        this.enqueue({ record, resolve, reject });
      });
    }
    this.enqueue({ record });
    if (this.queue.length <= this.maxQueued) return Promise.resolve();
    return new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  /**
   * Writes everything queued now, skipping any retry backoff, and resolves when the queue is empty
   * or `timeoutMs` has passed. Returns how many records are still not committed (0 = all durable).
   */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<number> {
    if (this.pending === 0) return 0;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.wakeRetry();
    this.kick();
    if (!Number.isFinite(timeoutMs)) {
      await idle;
      return this.pending;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return this.pending;
  }

  /** The spool behind the sink, for `/health`; null when the sink has none. */
  spoolStatus(): SpoolStatus | null {
    return this.sink.status();
  }

  // The DataSource closes in TypeORM's (global) onApplicationShutdown, which Nest runs before ours:
  // drain here, while Postgres is still reachable.
  async beforeApplicationShutdown(): Promise<void> {
    const started = Date.now();
    const left = await this.flush(this.shutdownGraceMs);
    if (left > 0) {
      this.logger.error({ pending: left }, 'audit records not committed at shutdown');
    }
    await this.sink.close(Math.max(0, this.shutdownGraceMs - (Date.now() - started)));
  }

  onApplicationShutdown(): void {
    if (this.pending > 0) {
      this.logger.error({ pending: this.pending }, 'audit records lost at shutdown');
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.publishPending();
    if (this.draining || this.scheduled) return;
    if (this.lastBatchRows <= 1) {
      this.kick();
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      // A write may have slipped in between the last batch and the reset above.
      if (this.queue.length > 0) this.kick();
      else this.notifyIdle();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.retryDelayMs > 0) await this.backoff();
      const batch = this.queue.splice(0, this.maxRows);
      this.lastBatchRows = batch.length;
      this.inFlight = batch.length;
      try {
        await this.commit(batch);
      } finally {
        this.inFlight = 0;
        this.publishPending();
        this.notifySpace();
      }
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.sink.write(batch.map((p) => p.record));
      this.metrics.auditBatchRows.observe(batch.length);
      this.retryDelayMs = 0;
      for (const p of batch) p.resolve?.();
    } catch (err) {
      this.failed(batch, err, this.sink.isTransient(err));
    }
  }

  private publishPending(): void {
    this.metrics.auditPending.set(this.pending + this.sink.backlog);
  }

  private failed(batch: Pending[], cause: unknown, transient: boolean): void {
    // The driver's error carries the whole batch as parameters: log only what explains it.
    const err = describe(cause);
    const retry: Pending[] = [];
    const refused: AuditRecord[] = [];
    const error = new GatewayError(
      'dependency_unavailable',
      'The request could not be recorded, so it was not completed. Retry later.',
      { cause, headers: { 'Retry-After': '1' } },
    );
    for (const p of batch) {
      if (p.reject) {
        refused.push(p.record);
        p.reject(error);
      } else if (transient) retry.push(p);
      else refused.push(p.record);
    }
    if (retry.length > 0) {
      // Async mode: keep them first in line and slow down until a sink answers again.
      this.queue = retry.concat(this.queue);
      this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, RETRY_MIN_MS), RETRY_MAX_MS);
      this.logger.warn(
        { err, rows: retry.length, retryInMs: this.retryDelayMs },
        'audit batch failed; will retry',
      );
    }
    if (refused.length === 0) return;
    this.metrics.auditUnrecorded.inc(refused.length);
    // Neither Postgres nor the spool took them: the log is the record of last resort. Records
    // carry ids, outcomes and numbers only (no key, no prompt), so they are safe to log whole.
    this.logger.error(
      { err, records: refused.map(loggable) },
      transient
        ? 'audit records could not be stored; requests answered with 503'
        : 'audit records refused; not stored',
    );
  }

  private backoff(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.retryWake = resolve;
      this.retryTimer = setTimeout(resolve, this.retryDelayMs);
    }).finally(() => {
      this.retryTimer = null;
      this.retryWake = null;
    });
  }

  private wakeRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryWake?.();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private notifySpace(): void {
    while (this.spaceWaiters.length > 0 && this.queue.length < this.maxQueued) {
      this.spaceWaiters.shift()?.();
    }
  }
}

function loggable(r: AuditRecord): Record<string, unknown> {
  return {
    requestId: r.requestId,
    tenantId: r.tenantId,
    apiKeyId: r.apiKeyId,
    createdAt: r.createdAt.toISOString(),
    endpoint: r.endpoint,
    model: r.model,
    provider: r.provider,
    statusCode: r.statusCode,
    outcome: r.outcome,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    costUnits: r.costUnits,
    errorCode: r.errorCode,
  };
}

function describe(err: unknown): { message: string; code?: string } {
  const source = (err as { driverError?: unknown } | null)?.driverError ?? err;
  const message = source instanceof Error ? source.message : String(source);
  const code = (source as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { message, code } : { message };
}
