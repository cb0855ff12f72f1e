import { Injectable } from '@nestjs/common';
import { escapeLiteral, type Pool, type QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { pgPool } from '@gateway/persistence';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import type { UtcMonth } from './utc-month';

/** A whole admission call must stay under 500 ms even when Redis just timed out (≈100 ms). */
const DEADLINE_MS = 300;
/** How long a settled fallback reservation keeps counting: covers settle → audit insert. */
const SETTLED_GRACE_SECONDS = 60;
/** Expired rows are kept this long before purging (the check ignores them anyway). */
const PURGE_AFTER = '5 minutes';

export interface PgReserveResult {
  readonly ok: boolean;
  /** This month's recorded spend (request_records). */
  readonly spendUnits: number;
  /** Live reservations before this one. */
  readonly heldUnits: number;
}

export interface PgReservationRow {
  readonly id: string;
  readonly tenantId: string;
  readonly units: number;
  readonly expiresAtMs: number;
}

const MONTH_SPEND_SQL = `SELECT COALESCE(sum(cost_units), 0)::text AS units FROM request_records
  WHERE tenant_id = $1::uuid AND created_at >= $2::timestamptz AND created_at < $3::timestamptz`;

/*
 * One statement under the tenant's advisory lock (taken by the previous statement, so this one's
 * snapshot sees every row committed by the lock's previous holder): purge this tenant's expired
 * rows, sum spend and live reservations, insert the reservation only if it fits.
 */
const RESERVE_SQL = `WITH purge AS (
    DELETE FROM budget_reservations WHERE tenant_id = $1::uuid AND expires_at <= now()
  ), spent AS (
    SELECT COALESCE(sum(cost_units), 0)::bigint AS units FROM request_records
    WHERE tenant_id = $1::uuid AND created_at >= $2::timestamptz AND created_at < $3::timestamptz
  ), held AS (
    SELECT COALESCE(sum(amount_units), 0)::bigint AS units FROM budget_reservations
    WHERE tenant_id = $1::uuid AND expires_at > now()
  ), ins AS (
    INSERT INTO budget_reservations (id, tenant_id, amount_units, expires_at)
    SELECT $4::text, $1::uuid, $5::bigint, now() + make_interval(secs => $7::double precision)
    FROM spent, held WHERE spent.units + held.units + $5::bigint <= $6::bigint
    RETURNING 1
  )
  SELECT spent.units::text AS spent, held.units::text AS held, (SELECT count(*) FROM ins)::int AS inserted
  FROM spent, held`;

/**
 * The Postgres side of budgets: the month-to-date spend that rebuilds Redis's counters (from the
 * audit ledger, `request_records`), and the Postgres-authoritative reservations used while Redis
 * is unavailable (`budget_reservations`). Every call has a deadline, so a slow Postgres turns into
 * PostgresUnavailableError instead of a slow request.
 */
@Injectable()
export class PostgresBudgetStore {
  private readonly monthSpendReads = new Map<string, Promise<number>>();
  /** Per tenant, the end of this instance's queue of fallback reservations. */
  private readonly reserveQueues = new Map<string, Promise<void>>();

  constructor(private readonly dataSource: DataSource) {}

  /** Spend recorded this month (units). */
  monthSpend(tenantId: string, month: UtcMonth): Promise<number> {
    // Single flight per tenant and month: a burst of first requests after a Redis restart (or a
    // tenant's first of the month) all ask at once; one query answers them all instead of
    // queueing the burst on the pool past the deadline.
    const key = `${tenantId}|${month.startMs}`;
    const inFlight = this.monthSpendReads.get(key);
    if (inFlight) return inFlight;
    const read = this.withDeadline<Array<{ units: string }>>(
      'month spend',
      this.dataSource.query(MONTH_SPEND_SQL, [
        tenantId,
        new Date(month.startMs).toISOString(),
        new Date(month.endMs).toISOString(),
      ]),
    )
      .then((rows) => Number(rows[0]?.units ?? 0))
      .finally(() => this.monthSpendReads.delete(key));
    this.monthSpendReads.set(key, read);
    return read;
  }

  /**
   * Reserves `worst` if this month's spend + live reservations + worst ≤ budget, atomically.
   * Reservations of one tenant are serialized by an advisory lock across instances; within this
   * instance they also queue in memory, one at a time per tenant, so a burst waits here instead of
   * holding every pooled connection while it waits for the lock. A reservation whose deadline
   * passed while queued is not sent at all (it would hold budget for a request already refused).
   */
  reserve(
    tenantId: string,
    id: string,
    month: UtcMonth,
    worstUnits: number,
    budgetUnits: number,
    ttlMs: number,
  ): Promise<PgReserveResult> {
    const deadlineAt = Date.now() + DEADLINE_MS;
    const send = (): Promise<PgReserveResult> => {
      if (Date.now() >= deadlineAt) {
        return Promise.reject(
          new PostgresUnavailableError('postgres reserve: deadline passed in queue'),
        );
      }
      return this.reserveTx(tenantId, id, month, worstUnits, budgetUnits, ttlMs);
    };
    const previous = this.reserveQueues.get(tenantId);
    const work = previous ? previous.then(send) : send();
    const tail = work.then(
      () => undefined,
      () => undefined,
    );
    this.reserveQueues.set(tenantId, tail);
    void tail.then(() => {
      if (this.reserveQueues.get(tenantId) === tail) this.reserveQueues.delete(tenantId);
    });
    return this.withDeadline('reserve', work);
  }

  /** A settled fallback reservation keeps its actual cost for a grace period; a release deletes it. */
  async settle(id: string, costUnits: number): Promise<void> {
    await this.withDeadline(
      'settle',
      costUnits > 0
        ? this.dataSource.query(
            `UPDATE budget_reservations SET amount_units = $2::bigint,
               expires_at = LEAST(expires_at, now() + make_interval(secs => $3::double precision))
             WHERE id = $1`,
            [id, costUnits, SETTLED_GRACE_SECONDS],
          )
        : this.dataSource.query(`DELETE FROM budget_reservations WHERE id = $1`, [id]),
    );
  }

  /** Copies reservations held in Redis into Postgres when Redis goes away (one statement). */
  async mirror(rows: readonly PgReservationRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.withDeadline(
      'mirror',
      this.dataSource.query(
        `INSERT INTO budget_reservations (id, tenant_id, amount_units, expires_at)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::timestamptz[])
         ON CONFLICT (id) DO NOTHING`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.tenantId),
          rows.map((r) => r.units),
          rows.map((r) => new Date(r.expiresAtMs).toISOString()),
        ],
      ),
      2_000,
    );
  }

  /** Live reservations of a tenant (for the admin read while Redis is away). */
  async held(tenantId: string): Promise<number> {
    const rows = await this.withDeadline<Array<{ units: string }>>(
      'held',
      this.dataSource.query(
        `SELECT COALESCE(sum(amount_units), 0)::text AS units FROM budget_reservations
         WHERE tenant_id = $1::uuid AND expires_at > now()`,
        [tenantId],
      ),
    );
    return Number(rows[0]?.units ?? 0);
  }

  /** Deletes rows that expired a while ago (background housekeeping). */
  async purgeExpired(): Promise<void> {
    await this.withDeadline(
      'purge',
      this.dataSource.query(
        `DELETE FROM budget_reservations WHERE expires_at < now() - interval '${PURGE_AFTER}'`,
      ),
      5_000,
    );
  }

  /**
   * One round trip: both statements go in one simple-protocol query, which Postgres runs as one
   * implicit transaction (the advisory lock is held until it ends, and an error rolls it all back)
   * while giving each statement its own snapshot. So the tenant's lock is held only for the
   * statements' execution, never across a network round trip, and a burst of fallback
   * reservations for one tenant queues for milliseconds, not round trips.
   */
  private async reserveTx(
    tenantId: string,
    id: string,
    month: UtcMonth,
    worstUnits: number,
    budgetUnits: number,
    ttlMs: number,
  ): Promise<PgReserveResult> {
    const lock = inlineParams(
      `SELECT set_config('lock_timeout', $2, true), set_config('statement_timeout', $2, true),
              pg_advisory_xact_lock(hashtextextended($1, 0))`,
      [`admission:${tenantId}`, String(DEADLINE_MS)],
    );
    const reserve = inlineParams(RESERVE_SQL, [
      tenantId,
      new Date(month.startMs).toISOString(),
      new Date(month.endMs).toISOString(),
      id,
      worstUnits,
      budgetUnits,
      ttlMs / 1000,
    ]);
    const results = (await this.pool().query(`${lock};\n${reserve}`)) as unknown as QueryResult[];
    const row = results[results.length - 1].rows[0] as {
      spent: string;
      held: string;
      inserted: number;
    };
    return { ok: row.inserted === 1, spendUnits: Number(row.spent), heldUnits: Number(row.held) };
  }

  private pool(): Pool {
    return pgPool(this.dataSource);
  }

  private withDeadline<T>(what: string, work: Promise<T>, ms = DEADLINE_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PostgresUnavailableError(`postgres ${what} took over ${ms} ms`)),
        ms,
      );
    });
    // The work may still settle after the deadline: never let that become an unhandled rejection.
    work.catch(() => undefined);
    return Promise.race([work, deadline])
      .catch((err: unknown) => {
        if (err instanceof PostgresUnavailableError) throw err;
        throw new PostgresUnavailableError(`postgres ${what} failed`, { cause: err });
      })
      .finally(() => clearTimeout(timer));
  }
}

/**
 * Replaces `$1…$9` with SQL literals, for the multi-statement simple query (which cannot carry
 * bind parameters). Strings are escaped by pg's own `escapeLiteral`; numbers must be finite.
 */
export function inlineParams(sql: string, values: ReadonlyArray<string | number>): string {
  if (values.length > 9) throw new Error('inlineParams supports at most 9 parameters');
  return sql.replace(/\$([1-9])(?![0-9])/g, (_m, n: string) => {
    const v = values[Number(n) - 1];
    if (v === undefined) throw new Error(`no value for $${n}`);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`parameter $${n} is not a finite number`);
      return String(v);
    }
    return escapeLiteral(v);
  });
}
