import { Injectable } from '@nestjs/common';
import { escapeLiteral, type Pool, type QueryResult } from 'pg';
import { DataSource } from 'typeorm';
import { pgPool } from '@gateway/persistence';
import { eventLoopLag } from '@gateway/redis';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import type { UtcMonth } from './utc-month';

/**
 * A call fails when Postgres has answered nothing for this long while it was outstanding, so a
 * whole admission call stays under 500 ms when Redis just timed out (≈200 ms) and Postgres is
 * frozen or unreachable too.
 */
const DEADLINE_MS = 300;
/**
 * Past its deadline, a call keeps waiting as long as Postgres answers other calls (slow under
 * load, not down), up to this: a budget that can be checked is checked, not refused with 503.
 */
const LATE_LIMIT_MS = 2_000;
/** Reservations of one tenant decided together in one statement, at most. */
const MAX_BATCH = 500;
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
 * rows, sum spend and live reservations, then walk the batch of requested reservations in order
 * and insert each one that still fits (first fit: a refused one takes nothing, a later smaller one
 * may still fit). $4 ids, $5 amounts, $6 budgets, $7 lifetimes (s): array literals, same order.
 */
const RESERVE_SQL = `WITH RECURSIVE purge AS (
    DELETE FROM budget_reservations WHERE tenant_id = $1::uuid AND expires_at <= now()
  ), spent AS (
    SELECT COALESCE(sum(cost_units), 0)::bigint AS units FROM request_records
    WHERE tenant_id = $1::uuid AND created_at >= $2::timestamptz AND created_at < $3::timestamptz
  ), held AS (
    SELECT COALESCE(sum(amount_units), 0)::bigint AS units FROM budget_reservations
    WHERE tenant_id = $1::uuid AND expires_at > now()
  ), req AS (
    SELECT * FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::double precision[])
      WITH ORDINALITY AS r(id, amount, budget, ttl, ord)
  ), walk (ord, used_before, used, take) AS (
    SELECT 0::bigint, 0::bigint, (SELECT spent.units + held.units FROM spent, held), false
    UNION ALL
    SELECT r.ord, w.used, CASE WHEN w.used + r.amount <= r.budget THEN w.used + r.amount ELSE w.used END,
           w.used + r.amount <= r.budget
    FROM walk w JOIN req r ON r.ord = w.ord + 1
  ), ins AS (
    INSERT INTO budget_reservations (id, tenant_id, amount_units, expires_at)
    SELECT r.id, $1::uuid, r.amount, now() + make_interval(secs => r.ttl)
    FROM req r JOIN walk w ON w.ord = r.ord WHERE w.take
    RETURNING 1
  )
  SELECT r.id, w.take, spent.units::text AS spent, w.used_before::text AS used_before,
         (SELECT count(*) FROM ins)::int AS inserted
  FROM req r JOIN walk w ON w.ord = r.ord, spent
  ORDER BY r.ord`;

interface PendingReserve {
  readonly id: string;
  readonly worstUnits: number;
  readonly budgetUnits: number;
  readonly ttlMs: number;
  /** Its caller gave up (deadline): not worth sending any more. */
  abandoned: boolean;
  readonly resolve: (r: PgReserveResult) => void;
  readonly reject: (err: Error) => void;
}

interface ReserveQueue {
  readonly tenantId: string;
  readonly month: UtcMonth;
  pending: PendingReserve[];
}

/**
 * The Postgres side of budgets: the month-to-date spend that rebuilds Redis's counters (from the
 * audit ledger, `request_records`), and the Postgres-authoritative reservations used while Redis
 * is unavailable (`budget_reservations`). Every call has a deadline, so a slow Postgres turns into
 * PostgresUnavailableError instead of a slow request.
 */
@Injectable()
export class PostgresBudgetStore {
  private readonly monthSpendReads = new Map<string, Promise<number>>();
  /** Per tenant and month, the reservations waiting for the batch in flight to finish. */
  private readonly reserveQueues = new Map<string, ReserveQueue>();
  /** When Postgres last answered a call of this store (a result or an error of its own). */
  private lastAnswerAt = -Infinity;

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
   * instance they are decided in batches: while one statement is in flight, the tenant's new
   * requests queue here, and the next statement decides all of them at once. So a burst costs a
   * few round trips instead of one each, and never parks every pooled connection on the lock. A
   * reservation whose caller gave up while it was queued is not sent at all (it would hold budget
   * for a request already refused).
   */
  reserve(
    tenantId: string,
    id: string,
    month: UtcMonth,
    worstUnits: number,
    budgetUnits: number,
    ttlMs: number,
  ): Promise<PgReserveResult> {
    const key = `${tenantId}|${month.startMs}`;
    let item: PendingReserve | null = null;
    const work = new Promise<PgReserveResult>((resolve, reject) => {
      item = { id, worstUnits, budgetUnits, ttlMs, abandoned: false, resolve, reject };
      const queue = this.reserveQueues.get(key);
      if (queue) {
        queue.pending.push(item);
        return;
      }
      const fresh: ReserveQueue = { tenantId, month, pending: [item] };
      this.reserveQueues.set(key, fresh);
      void this.drainReserves(key, fresh);
    });
    return this.withDeadline('reserve', work).catch((err: unknown) => {
      if (item) item.abandoned = true;
      throw err;
    });
  }

  /** Sends the queue's reservations in batches until it is empty, then forgets it. */
  private async drainReserves(key: string, queue: ReserveQueue): Promise<void> {
    while (queue.pending.length > 0) {
      const batch: PendingReserve[] = [];
      const rest: PendingReserve[] = [];
      for (const item of queue.pending) {
        if (item.abandoned) {
          item.reject(new PostgresUnavailableError('postgres reserve: caller gave up in queue'));
        } else if (batch.length < MAX_BATCH) {
          batch.push(item);
        } else {
          rest.push(item);
        }
      }
      queue.pending = rest;
      if (batch.length === 0) continue;
      try {
        const results = await this.observe(this.reserveTx(queue.tenantId, queue.month, batch));
        batch.forEach((item, i) => item.resolve(results[i]));
      } catch (err) {
        const failure = err instanceof Error ? err : new Error(String(err));
        for (const item of batch) item.reject(failure);
      }
    }
    this.reserveQueues.delete(key);
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

  /**
   * Keeps a live fallback reservation from expiring for another `ttlMs` (one statement). A row
   * already expired stays expired: the reserve statement may have purged it on another instance.
   */
  async renew(id: string, ttlMs: number): Promise<void> {
    await this.withDeadline(
      'renew',
      this.dataSource.query(
        `UPDATE budget_reservations
           SET expires_at = GREATEST(expires_at, now() + make_interval(secs => $2::double precision))
         WHERE id = $1 AND expires_at > now()`,
        [id, ttlMs / 1000],
      ),
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
   * statements' execution, never across a network round trip.
   */
  private async reserveTx(
    tenantId: string,
    month: UtcMonth,
    batch: readonly PendingReserve[],
  ): Promise<PgReserveResult[]> {
    const lock = inlineParams(
      `SELECT set_config('lock_timeout', $2, true), set_config('statement_timeout', $2, true),
              pg_advisory_xact_lock(hashtextextended($1, 0))`,
      [`admission:${tenantId}`, String(LATE_LIMIT_MS)],
    );
    const reserve = inlineParams(RESERVE_SQL, [
      tenantId,
      new Date(month.startMs).toISOString(),
      new Date(month.endMs).toISOString(),
      arrayLiteral(batch.map((b) => b.id)),
      arrayLiteral(batch.map((b) => b.worstUnits)),
      arrayLiteral(batch.map((b) => b.budgetUnits)),
      arrayLiteral(batch.map((b) => b.ttlMs / 1000)),
    ]);
    const results = (await this.pool().query(`${lock};\n${reserve}`)) as unknown as QueryResult[];
    const rows = results[results.length - 1].rows as Array<{
      id: string;
      take: boolean;
      spent: string;
      used_before: string;
    }>;
    return rows.map((row) => {
      const spendUnits = Number(row.spent);
      return {
        ok: row.take,
        spendUnits,
        heldUnits: Number(row.used_before) - spendUnits,
      };
    });
  }

  private pool(): Pool {
    return pgPool(this.dataSource);
  }

  /** Notes every answer from Postgres (a result, or an error with a SQLSTATE) for withDeadline. */
  private observe<T>(work: Promise<T>): Promise<T> {
    work.then(
      () => (this.lastAnswerAt = performance.now()),
      (err: unknown) => {
        if (typeof (err as { code?: unknown } | null)?.code === 'string')
          this.lastAnswerAt = performance.now();
      },
    );
    return work;
  }

  /**
   * Rejects with PostgresUnavailableError once Postgres has answered nothing (to any call of this
   * store) for `ms` while `work` was outstanding — frozen, down or unreachable — or once `work`
   * has waited LATE_LIMIT_MS although Postgres keeps answering others. A late answer from a busy
   * Postgres is not a failure, and the silence window widens by this process's recent event-loop
   * lag (EventLoopLag, libs/redis: an oversubscribed machine starves Postgres too). Like the Redis deadline (lagAwareTimeout), each verdict waits one
   * loop turn after its timer, so an answer that arrived while a saturated event loop ran the
   * timer late still counts.
   */
  private withDeadline<T>(what: string, work: Promise<T>, ms = DEADLINE_MS): Promise<T> {
    const started = performance.now();
    const lag = eventLoopLag();
    const limit = Math.max(ms, LATE_LIMIT_MS);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (wait: number) => {
        timer = setTimeout(() => setImmediate(check), Math.max(1, wait));
      };
      const check = () => {
        if (done) return;
        const now = performance.now();
        const silentFor = now - Math.max(started, this.lastAnswerAt);
        const silence = ms + lag.recentMs();
        const waited = now - started;
        if (silentFor < silence && waited < limit)
          return arm(Math.min(silence - silentFor, limit - waited));
        done = true;
        reject(
          new PostgresUnavailableError(
            `postgres ${what} took over ${Math.round(waited)} ms` +
              (silentFor >= silence ? ' (no answer from Postgres meanwhile)' : ''),
          ),
        );
      };
      arm(ms);
      this.observe(work).then(
        (value) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(
            err instanceof PostgresUnavailableError
              ? err
              : new PostgresUnavailableError(`postgres ${what} failed`, { cause: err }),
          );
        },
      );
    });
  }
}

/** A Postgres array literal of ids (base64url and dots: nothing to quote) or finite numbers. */
export function arrayLiteral(values: ReadonlyArray<string | number>): string {
  for (const v of values) {
    if (typeof v === 'number' ? !Number.isFinite(v) : !/^[A-Za-z0-9._-]+$/.test(v))
      throw new Error(`array element ${String(v)} needs quoting`);
  }
  return `{${values.join(',')}}`;
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
