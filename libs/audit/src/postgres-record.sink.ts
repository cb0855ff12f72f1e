import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseError, type PoolClient } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { pgPool } from '@gateway/persistence';
import type { AuditRecord } from './audit-record';
import { RecordSink } from './record-sink';

const COLUMNS = `request_id, tenant_id, api_key_id, created_at, endpoint, model, provider, provider_model,
  status_code, outcome, prompt_tokens, completion_tokens, cost_units, cost_saved_units,
  latency_ms, upstream_latency_ms, cached, attempts, error_code`;
const ON_CONFLICT = 'ON CONFLICT (request_id, tenant_id, created_at) DO NOTHING';

/*
 * One statement for any batch size: 19 array parameters zipped by unnest(), so the SQL text is
 * constant (plannable once), the parameter count does not grow with the batch (no 65535-parameter
 * ceiling), and the batch commits atomically as a single autocommit INSERT in one round trip.
 * ON CONFLICT on the record's identity (request_id, tenant_id, created_at) makes writing a record
 * twice a no-op: a spool replay, or a batch re-sent after an INSERT that timed out but committed.
 */
const INSERT_SQL = `INSERT INTO request_records (${COLUMNS})
SELECT * FROM unnest(
  $1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::int[], $10::text[], $11::int[], $12::int[], $13::bigint[], $14::bigint[],
  $15::int[], $16::int[], $17::bool[], $18::jsonb[], $19::text[])
${ON_CONFLICT}`;

/*
 * A batch of one — every record of a lone request — as a plain VALUES row: no array literal to
 * build in the client or parse in the server (0.05 ms less per INSERT and a fifth less client CPU
 * on the bench machine, docs/BENCHMARKS.md). Same columns, same conflict rule.
 */
const INSERT_ONE_SQL = `INSERT INTO request_records (${COLUMNS})
VALUES (${Array.from({ length: 19 }, (_, i) => `$${i + 1}`).join(', ')})
${ON_CONFLICT}`;

/** The prepared statements' names on every pooled connection (their texts never change). */
const INSERT_STATEMENT = 'llm_gateway_insert_request_records';
const INSERT_ONE_STATEMENT = 'llm_gateway_insert_request_record';

// SQLSTATE classes worth a retry: connection exceptions, resource exhaustion, operator/admin
// shutdown (and statement_timeout's query_canceled), system errors, serialization/deadlock.
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

/** The INSERT (or getting a connection for it) took longer than its deadline. */
export class AuditInsertTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`audit insert did not finish within ${timeoutMs} ms`);
    this.name = 'AuditInsertTimeoutError';
  }
}

/**
 * Writes batches to `request_records`. Strings Postgres cannot store are escaped here, the last
 * line of defence behind input validation: NUL (U+0000) is refused by `text` (22021) and, as the
 * JSON escape `\u0000`, by `jsonb` (22P05); it is stored as the six characters `\u0000`.
 */
@Injectable()
export class PostgresRecordSink extends RecordSink {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  write(records: readonly AuditRecord[]): Promise<void> {
    return this.insert(records, Number.POSITIVE_INFINITY);
  }

  /**
   * Inserts the batch, or rejects with AuditInsertTimeoutError once `timeoutMs` has passed. On a
   * timeout the connection is destroyed rather than returned to the pool: a frozen server would
   * otherwise keep it checked out, and the pool would run dry for every other query. The INSERT
   * may still commit when the server wakes up; the unique key makes a later re-send a no-op.
   */
  async insert(records: readonly AuditRecord[], timeoutMs: number): Promise<void> {
    if (records.length === 0) return;
    // Named: each connection parses and plans the statement once, then only binds and executes
    // (about 0.1 ms less per INSERT on the bench machine than an unnamed statement).
    const query =
      records.length === 1
        ? { name: INSERT_ONE_STATEMENT, text: INSERT_ONE_SQL, values: row(records[0]) }
        : { name: INSERT_STATEMENT, text: INSERT_SQL, values: columns(records) };
    // Straight to the pg pool: TypeORM's query runner adds nothing to one constant statement.
    const pool = pgPool(this.dataSource);
    if (!Number.isFinite(timeoutMs)) {
      await pool.query(query);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const held: { client: PoolClient | null } = { client: null };
    const work = (async () => {
      const c = await pool.connect();
      if (timedOut) {
        c.release(true);
        return;
      }
      held.client = c;
      // A checked-out client has no pool listener: a dropped connection emits 'error' on it as
      // well as failing the query, and an unheard 'error' would crash the process.
      c.on('error', ignore);
      try {
        await c.query(query);
      } catch (err) {
        // The server refusing the rows leaves the connection fine; anything else drops it.
        if (!timedOut) release(c, err instanceof DatabaseError ? undefined : true);
        throw err;
      }
      if (!timedOut) release(c);
    })();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        // release(true) ends the socket; the query's promise then rejects, and nobody waits on it.
        // Keeps its 'error' listener: the ended socket may still report.
        held.client?.release(true);
        reject(new AuditInsertTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    work.catch(() => undefined);
    try {
      await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  isTransient(err: unknown): boolean {
    if (err instanceof AuditInsertTimeoutError) return true;
    const code = sqlState(err);
    // No SQLSTATE: the statement never reached a server that answered (refused, reset, pool closed).
    if (code === null) return true;
    return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
}

function ignore(): void {
  // The query that was running on the client reports the same failure.
}

function release(client: PoolClient, destroy?: true): void {
  client.removeListener('error', ignore);
  client.release(destroy);
}

/** One record's 19 values, in COLUMNS order, escaped for storage. */
function row(r: AuditRecord): unknown[] {
  return [
    storable(r.requestId),
    r.tenantId,
    r.apiKeyId,
    r.createdAt.toISOString(),
    storable(r.endpoint),
    storableOrNull(r.model),
    storableOrNull(r.provider),
    storableOrNull(r.providerModel),
    r.statusCode,
    storable(r.outcome),
    r.promptTokens,
    r.completionTokens,
    r.costUnits,
    r.costSavedUnits,
    r.latencyMs,
    r.upstreamLatencyMs,
    r.cached,
    storableJson(r.attempts),
    storableOrNull(r.errorCode),
  ];
}

/** A batch as 19 column arrays (the unnest statement's parameters). */
function columns(records: readonly AuditRecord[]): unknown[][] {
  const n = records.length;
  const cols: unknown[][] = Array.from({ length: 19 }, () => new Array<unknown>(n));
  for (let i = 0; i < n; i++) {
    const values = row(records[i]);
    for (let c = 0; c < 19; c++) cols[c][i] = values[c];
  }
  return cols;
}

const NUL = '\u0000';
const NUL_ESCAPED = '\\u0000';

/** `s` with every NUL replaced by the text `\u0000`; the same string (no copy) in the common case. */
export function storable(s: string): string {
  return s.includes(NUL) ? s.replaceAll(NUL, NUL_ESCAPED) : s;
}

function storableOrNull(s: string | null): string | null {
  return s === null ? null : storable(s);
}

/** JSON for a jsonb column: string values (and keys) carrying NUL are escaped as in `storable`. */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify writes NUL as the escape `\u0000`; only then is the slow path needed.
  if (!json.includes(NUL_ESCAPED)) return json;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'string') return storable(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) out[storable(k)] = inner;
      return out;
    }
    return v;
  });
}

/**
 * The SQLSTATE of an error the server sent, or null. Only pg's DatabaseError carries one: a socket
 * error's `code` (`EPIPE`, `EBADF`) can look like a SQLSTATE but means the server never answered.
 */
export function sqlState(err: unknown): string | null {
  const source: unknown = err instanceof QueryFailedError ? err.driverError : err;
  return source instanceof DatabaseError && typeof source.code === 'string' ? source.code : null;
}
