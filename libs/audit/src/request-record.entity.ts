import { Column, Entity, Index, PrimaryGeneratedColumn, type ValueTransformer } from 'typeorm';
import type { AttemptRecord, Outcome } from '@gateway/context';

/** BIGINT money columns: one request's cost is far below 2^53 units, so a JS number is exact. */
const bigintNumber: ValueTransformer = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * One row per tenant request (docs/api.md §7 audit fields). Insert-only: corrections are new rows.
 * No foreign key to `tenants` on purpose: the ledger must outlive tenant rows, and it keeps the
 * table ready for time partitioning and retention without cross-table constraints.
 *
 * Indexes serve the read paths at millions of rows (B-trees scan backwards, so ascending keys
 * also serve the newest-first keyset pages):
 * - (tenant_id, created_at, id): a tenant's usage window, the per-tenant audit list, the
 *   admission lib's month-to-date spend;
 * - (created_at, id): the cross-tenant audit list and the chargeback report's time range;
 * - (outcome, created_at, id) for failures only: "show me what went wrong" without scanning the
 *   success rows (partial, so the common insert pays nothing for it);
 * - (request_id, tenant_id, created_at), unique: support look-ups by the id the client saw, and
 *   the identity that makes re-inserting a record a no-op (a batch replayed from the outage
 *   spool, or re-sent after its first INSERT timed out yet committed). Not request_id alone: a
 *   client may send the same X-Request-Id on different requests, and each still gets its record.
 */
@Entity({ name: 'request_records' })
@Index('request_records_tenant_id_created_at_id_idx', ['tenantId', 'createdAt', 'id'])
@Index('request_records_created_at_id_idx', ['createdAt', 'id'])
@Index('request_records_failures_idx', ['outcome', 'createdAt', 'id'], {
  where: `"outcome" NOT IN ('success', 'cached')`,
})
@Index('request_records_request_key', ['requestId', 'tenantId', 'createdAt'], { unique: true })
export class RequestRecordEntity {
  /** bigserial; pg returns BIGINT as a string, kept as such (ids exceed 2^53 only in theory). */
  @PrimaryGeneratedColumn('increment', {
    type: 'bigint',
    primaryKeyConstraintName: 'request_records_pkey',
  })
  id!: string;

  @Column('text', { name: 'request_id' })
  requestId!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('uuid', { name: 'api_key_id' })
  apiKeyId!: string;

  /** When the request finished (its cost was settled), set by the gateway, not the database. */
  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('text')
  endpoint!: string;

  @Column('text', { nullable: true })
  model!: string | null;

  @Column('text', { nullable: true })
  provider!: string | null;

  @Column('text', { name: 'provider_model', nullable: true })
  providerModel!: string | null;

  @Column('integer', { name: 'status_code' })
  statusCode!: number;

  @Column('text')
  outcome!: Outcome;

  @Column('integer', { name: 'prompt_tokens', default: 0 })
  promptTokens!: number;

  @Column('integer', { name: 'completion_tokens', default: 0 })
  completionTokens!: number;

  /** Units of 1e-10 USD. */
  @Column('bigint', { name: 'cost_units', default: 0, transformer: bigintNumber })
  costUnits!: number;

  /** What a cache hit would have cost at the provider, in units of 1e-10 USD. */
  @Column('bigint', { name: 'cost_saved_units', default: 0, transformer: bigintNumber })
  costSavedUnits!: number;

  @Column('integer', { name: 'latency_ms' })
  latencyMs!: number;

  @Column('integer', { name: 'upstream_latency_ms', nullable: true })
  upstreamLatencyMs!: number | null;

  @Column('boolean', { default: false })
  cached!: boolean;

  @Column('jsonb', { default: () => `'[]'` })
  attempts!: AttemptRecord[];

  @Column('text', { name: 'error_code', nullable: true })
  errorCode!: string | null;
}
