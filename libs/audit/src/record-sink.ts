import type { AuditRecord } from './audit-record';

/**
 * Where committed records go. The writer only knows this port: Postgres is the one sink today; the
 * local spool for Postgres outages is a later sink that wraps it (append + fsync to a local file
 * when Postgres is unreachable, replay when it returns) and is swapped in by provider, with no
 * change to the writer or the request path.
 *
 * Contract: `write` resolves only once every record of the batch is durable, and rejects with the
 * original error otherwise (the whole batch then counts as not written).
 */
export abstract class RecordSink {
  abstract write(records: readonly AuditRecord[]): Promise<void>;

  /**
   * True when retrying the same batch later may succeed (connection lost, server shutting down);
   * false when the batch itself is refused (a constraint or type error), so it must be split.
   */
  abstract isTransient(err: unknown): boolean;
}
