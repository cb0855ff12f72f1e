import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseError } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { pgPool } from '@gateway/persistence';
import type { AuditRecord } from './audit-record';
import { RecordSink } from './record-sink';

/*
 * One statement for any batch size: 19 array parameters zipped by unnest(), so the SQL text is
 * constant (plannable once), the parameter count does not grow with the batch (no 65535-parameter
 * ceiling), and the batch commits atomically as a single autocommit INSERT in one round trip.
 */
const INSERT_SQL = `INSERT INTO request_records (
  request_id, tenant_id, api_key_id, created_at, endpoint, model, provider, provider_model,
  status_code, outcome, prompt_tokens, completion_tokens, cost_units, cost_saved_units,
  latency_ms, upstream_latency_ms, cached, attempts, error_code)
SELECT * FROM unnest(
  $1::text[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
  $8::text[], $9::int[], $10::text[], $11::int[], $12::int[], $13::bigint[], $14::bigint[],
  $15::int[], $16::int[], $17::bool[], $18::jsonb[], $19::text[])`;

// SQLSTATE classes worth a retry: connection exceptions, resource exhaustion, operator/admin
// shutdown, system errors, and serialization/deadlock rollbacks.
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

@Injectable()
export class PostgresRecordSink extends RecordSink {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const n = records.length;
    const cols: unknown[][] = Array.from({ length: 19 }, () => new Array<unknown>(n));
    for (let i = 0; i < n; i++) {
      const r = records[i];
      cols[0][i] = r.requestId;
      cols[1][i] = r.tenantId;
      cols[2][i] = r.apiKeyId;
      cols[3][i] = r.createdAt.toISOString();
      cols[4][i] = r.endpoint;
      cols[5][i] = r.model;
      cols[6][i] = r.provider;
      cols[7][i] = r.providerModel;
      cols[8][i] = r.statusCode;
      cols[9][i] = r.outcome;
      cols[10][i] = r.promptTokens;
      cols[11][i] = r.completionTokens;
      cols[12][i] = r.costUnits;
      cols[13][i] = r.costSavedUnits;
      cols[14][i] = r.latencyMs;
      cols[15][i] = r.upstreamLatencyMs;
      cols[16][i] = r.cached;
      cols[17][i] = JSON.stringify(r.attempts);
      cols[18][i] = r.errorCode;
    }
    // Straight to the pg pool: TypeORM's query runner adds nothing to one constant statement.
    await pgPool(this.dataSource).query(INSERT_SQL, cols);
  }

  isTransient(err: unknown): boolean {
    const code = sqlState(err);
    // No SQLSTATE: the statement never reached a server that answered (refused, reset, pool closed).
    if (code === null) return true;
    return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  }
}

/**
 * The SQLSTATE of an error the server sent, or null. Only pg's DatabaseError carries one: a socket
 * error's `code` (`EPIPE`, `EBADF`) can look like a SQLSTATE but means the server never answered.
 */
function sqlState(err: unknown): string | null {
  const source: unknown = err instanceof QueryFailedError ? err.driverError : err;
  return source instanceof DatabaseError && typeof source.code === 'string' ? source.code : null;
}
