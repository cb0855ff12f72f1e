import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { GatewayConfigService } from '@gateway/config';
import { GatewayMetrics } from '@gateway/observability';
import type { AuditRecord } from './audit-record';
import { PostgresRecordSink, sqlState } from './postgres-record.sink';
import { RecordSink, type SpoolStatus } from './record-sink';
import { RecordSpool, SpoolFullError } from './record-spool';

const REPLAY_MIN_DELAY_MS = 250;
const REPLAY_MAX_DELAY_MS = 2_000;

/**
 * The app's RecordSink: Postgres while it takes records, the local spool while it does not.
 *
 * - A batch goes to Postgres with a deadline (`AUDIT_INSERT_TIMEOUT_MS`). If Postgres is down,
 *   frozen or over the deadline, the batch is appended to the spool instead (fsync'd before
 *   `write` resolves) and the sink switches to spooling: later batches go straight to the spool
 *   without waiting on Postgres again, so an outage costs one deadline, not one per request.
 * - A replayer drains the spool into Postgres in batches (oldest segment first) with backoff
 *   (250 ms → 2 s); its first committed batch switches the sink back to Postgres. Replays use the
 *   same INSERT … ON CONFLICT DO NOTHING, so a record written twice is stored once.
 * - A batch Postgres refuses for its content is split in halves until the refused records are
 *   alone (≈ 2·log2(n) INSERTs for one bad record in n, not n): its neighbours commit, and each
 *   refused record is kept in `rejected.spool` and logged by request id, never dropped silently.
 */
@Injectable()
export class SpoolingRecordSink extends RecordSink implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('AuditSpool');
  private readonly timeoutMs: number;
  private readonly replayRows: number;
  private spool: RecordSpool | null = null;
  private spooling = false;
  private replaying: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private listeners: Array<() => void> = [];

  constructor(
    private readonly postgres: PostgresRecordSink,
    private readonly metrics: GatewayMetrics,
    private readonly config: GatewayConfigService,
  ) {
    super();
    this.timeoutMs = config.config.audit.insertTimeoutMs;
    this.replayRows = config.config.audit.batchMaxRows;
  }

  /** Opens the spool directory: a gateway that cannot keep records locally does not boot. */
  async onModuleInit(): Promise<void> {
    const { spoolDir, spoolMaxBytes } = this.config.config.audit;
    const spool = await RecordSpool.open(spoolDir, spoolMaxBytes);
    this.spool = spool;
    this.metrics.auditSpoolMaxBytes.set(spoolMaxBytes);
    this.metrics.setAuditSpoolOldest(() => spool.oldestMs);
    if (spool.tornBytesAtOpen > 0 || spool.corruptAtOpen > 0) {
      this.logger.warn(
        { tornBytes: spool.tornBytesAtOpen, corruptRecords: spool.corruptAtOpen },
        'audit spool had an unfinished append (cut off) or unreadable lines (skipped)',
      );
    }
    if (spool.records > 0) {
      this.logger.warn({ records: spool.records }, 'audit spool holds records; replaying them');
    }
    this.publish();
  }

  onApplicationBootstrap(): void {
    this.startReplay();
  }

  override get backlog(): number {
    return this.spool?.records ?? 0;
  }

  override status(): SpoolStatus | null {
    const spool = this.spool;
    if (!spool) return null;
    const oldest = spool.oldestMs;
    return {
      mode: this.spooling ? 'spooling' : 'postgres',
      records: spool.records,
      bytes: spool.bytes,
      maxBytes: spool.maxBytes,
      oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    };
  }

  override onBacklogChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    // While spooling, the replayer probes Postgres; an empty spool has nothing to probe with.
    if (!this.spooling || this.backlog === 0) {
      try {
        await this.postgres.insert(records, this.timeoutMs);
        this.leaveSpooling();
        return;
      } catch (err) {
        if (!this.postgres.isTransient(err)) {
          await this.isolate(records, err, 'spool');
          return;
        }
        this.enterSpooling(err);
      }
    }
    await this.toSpool(records);
  }

  isTransient(err: unknown): boolean {
    // The spool refusing (full, disk error) may pass; a content refusal never reaches the writer.
    return err instanceof SpoolFullError || this.postgres.isTransient(err);
  }

  /**
   * Stops replaying and releases the directory. Postgres answering at shutdown, one more replay
   * pass runs first (within `timeoutMs`): an emptyDir spool does not outlive its pod.
   */
  override async close(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    if (this.backlog > 0 && timeoutMs > 0) {
      this.wake?.();
      const running = this.replaying ?? Promise.resolve();
      await Promise.race([running, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    this.stopped = true;
    this.wake?.();
    await this.replaying;
    await this.spool?.close();
    if (this.backlog > 0) {
      this.logger.warn(
        { records: this.backlog },
        'audit spool not empty at shutdown; it is replayed at the next start',
      );
    }
  }

  private async toSpool(records: readonly AuditRecord[]): Promise<void> {
    const spool = this.spool;
    if (!spool) throw new Error('audit spool is not open');
    await spool.append(records);
    this.metrics.auditSpooled.inc(records.length);
    this.publish();
    this.startReplay();
  }

  /**
   * Finds the records Postgres refuses in a batch by halving it. `transient` says what to do if
   * Postgres goes away meanwhile: spool the remaining half (a writer batch), or throw (a replay,
   * whose records are already spooled).
   */
  private async isolate(
    records: readonly AuditRecord[],
    cause: unknown,
    transient: 'spool' | 'throw',
  ): Promise<void> {
    if (records.length === 1) {
      await this.keepRejected(records[0], cause);
      return;
    }
    const mid = records.length >> 1;
    for (const half of [records.slice(0, mid), records.slice(mid)]) {
      try {
        await this.postgres.insert(half, this.timeoutMs);
      } catch (err) {
        if (!this.postgres.isTransient(err)) {
          await this.isolate(half, err, transient);
        } else if (transient === 'throw') {
          throw err;
        } else {
          this.enterSpooling(err);
          await this.toSpool(half);
        }
      }
    }
  }

  private async keepRejected(record: AuditRecord, cause: unknown): Promise<void> {
    this.metrics.auditRejected.inc();
    // The record holds no credentials or prompt text; Postgres's message names the bad value.
    const fields = {
      requestId: record.requestId,
      tenantId: record.tenantId,
      outcome: record.outcome,
      statusCode: record.statusCode,
      sqlState: sqlState(cause),
      err: errorMessage(cause),
    };
    await this.spool?.reject([record]).catch((err: unknown) => {
      this.logger.error(
        { ...fields, spoolError: errorMessage(err), record },
        'audit record refused by Postgres and not kept',
      );
    });
    this.logger.error(fields, 'audit record refused by Postgres; kept in rejected.spool');
  }

  private enterSpooling(cause: unknown): void {
    if (this.spooling) return;
    this.spooling = true;
    this.logger.warn(
      { err: errorMessage(cause), sqlState: sqlState(cause) },
      'Postgres is not taking audit records; spooling them locally',
    );
  }

  private leaveSpooling(): void {
    if (!this.spooling) return;
    this.spooling = false;
    this.logger.log({ spooled: this.backlog }, 'Postgres takes audit records again');
  }

  private startReplay(): void {
    if (this.replaying || this.stopped || this.backlog === 0) return;
    this.replaying = this.replay().finally(() => {
      this.replaying = null;
      // Records spooled after the last segment was taken start another round.
      this.startReplay();
    });
  }

  private async replay(): Promise<void> {
    const spool = this.spool;
    if (!spool) return;
    let delayMs = this.spooling ? REPLAY_MIN_DELAY_MS : 0;
    while (!this.stopped && spool.records > 0) {
      if (delayMs > 0) await this.sleep(delayMs);
      if (this.stopped) return;
      const segment = await spool.nextForReplay();
      if (!segment) return;
      try {
        const { records, corrupt } = await spool.read(segment);
        if (corrupt > 0) {
          this.logger.error(
            { corrupt, segment: segment.path },
            'unreadable audit spool lines skipped',
          );
        }
        for (let i = 0; i < records.length && !this.stopped; i += this.replayRows) {
          await this.replayBatch(records.slice(i, i + this.replayRows));
        }
        if (this.stopped) return;
        await spool.remove(segment);
        this.metrics.auditReplayed.inc(records.length);
        this.publish();
        delayMs = 0;
      } catch (err) {
        if (!this.postgres.isTransient(err)) {
          // Not Postgres: the file itself (permissions, a disk error). Keep it and retry slowly.
          this.logger.error(
            { err: errorMessage(err), segment: segment.path },
            'audit spool replay failed',
          );
        } else {
          this.enterSpooling(err);
        }
        delayMs = Math.min(Math.max(delayMs * 2, REPLAY_MIN_DELAY_MS), REPLAY_MAX_DELAY_MS);
      }
    }
  }

  private async replayBatch(records: readonly AuditRecord[]): Promise<void> {
    try {
      await this.postgres.insert(records, this.timeoutMs);
    } catch (err) {
      if (this.postgres.isTransient(err)) throw err;
      await this.isolate(records, err, 'throw');
    }
    this.leaveSpooling();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }

  private publish(): void {
    const spool = this.spool;
    if (!spool) return;
    this.metrics.auditSpoolRecords.set(spool.records);
    this.metrics.auditSpoolBytes.set(spool.bytes);
    for (const l of this.listeners) l();
  }
}

function errorMessage(err: unknown): string {
  const source = (err as { driverError?: unknown } | null)?.driverError ?? err;
  return source instanceof Error ? source.message : String(source);
}
