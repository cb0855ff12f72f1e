import type { AuditRecord } from './audit-record';

/** What `/health` and the metrics show of records that are durable but not yet in Postgres. */
export interface SpoolStatus {
  /** `postgres`: batches go to Postgres; `spooling`: Postgres is not taking them, the spool is. */
  readonly mode: 'postgres' | 'spooling';
  readonly records: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Age of the oldest spooled record in seconds, 0 when the spool is empty. */
  readonly oldestAgeSeconds: number;
}

/**
 * Where the writer's batches go. The app's sink is SpoolingRecordSink (Postgres, or the local
 * spool when Postgres cannot take them); tests may hand the writer PostgresRecordSink directly.
 *
 * Contract: `write` resolves only once every record of the batch is durable, and rejects with the
 * original error otherwise (the whole batch then counts as not written).
 */
export abstract class RecordSink {
  abstract write(records: readonly AuditRecord[]): Promise<void>;

  /**
   * True when retrying the same batch later may succeed (connection lost, server shutting down,
   * spool full); false when the batch itself is refused (a constraint or type error).
   */
  abstract isTransient(err: unknown): boolean;

  /** Records durable here but not yet in Postgres (the spool's depth). */
  get backlog(): number {
    return 0;
  }

  status(): SpoolStatus | null {
    return null;
  }

  /** Calls `listener` whenever `backlog` changes outside a `write` (a replay step). */
  onBacklogChange(listener: () => void): void {
    void listener;
  }

  /** Called once at shutdown, after the writer drained: finish or stop background work. */
  async close(timeoutMs: number): Promise<void> {
    void timeoutMs;
    return Promise.resolve();
  }
}
