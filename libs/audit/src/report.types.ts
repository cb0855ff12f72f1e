import type { AttemptRecord, Outcome } from '@gateway/context';

/*
 * The JSON shapes of the usage, chargeback and audit reports (docs/api.md §3, §9), as the facade
 * returns them. Money is USD as JSON numbers, converted once from exact integer unit sums.
 */

export interface ProviderUsage {
  /** The provider that answered, or `cache` for cache hits. */
  provider: string;
  requests: number;
  /** Prompt + completion tokens of the answers (for `cache`: tokens served from the cache). */
  tokens: number;
  cost: number;
  avg_latency_ms: number;
}

/** The tenant a usage report is about, as its caller resolved it. */
export interface ReportTenant {
  id: string;
  name: string;
}

export interface UsageReport {
  tenant_id: string;
  tenant_name: string;
  period_days: number;
  usage_by_provider: ProviderUsage[];
}

export const GROUP_BY_FIELDS = ['tenant', 'provider', 'model', 'day', 'month'] as const;
export type GroupByField = (typeof GROUP_BY_FIELDS)[number];

export interface ChargebackQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Distinct, in the order asked for. */
  groupBy: readonly GroupByField[];
}

export interface ChargebackTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  cache_hits: number;
  cost_saved: number;
}

/** A row: the group_by columns that were asked for, then the totals of the group. */
export interface ChargebackRow extends ChargebackTotals {
  /** The tenant id (group_by `tenant`; also under `tenant_id`). */
  tenant?: string;
  tenant_id?: string;
  /** group_by `tenant`: the tenant's current name (null if the tenant row is gone). */
  tenant_name?: string | null;
  provider?: string;
  model?: string;
  /** `YYYY-MM-DD`, UTC. */
  day?: string;
  /** `YYYY-MM`, UTC. */
  month?: string;
}

export interface ChargebackReport {
  from: string;
  to: string;
  group_by: GroupByField[];
  data: ChargebackRow[];
  totals: ChargebackTotals;
}

export interface AuditQuery {
  tenantId: string | null;
  from: Date | null;
  to: Date | null;
  outcome: Outcome | null;
  provider: string | null;
  model: string | null;
  limit: number;
  cursor: AuditCursor | null;
}

/** Position after the last row of a page: (created_at, id) of that row. */
export interface AuditCursor {
  /** created_at in UTC with microseconds, as Postgres stores it. */
  createdAt: string;
  id: string;
}

export interface AuditRow {
  request_id: string;
  tenant_id: string;
  api_key_id: string;
  created_at: string;
  endpoint: string;
  model: string | null;
  provider: string | null;
  provider_model: string | null;
  status_code: number;
  outcome: Outcome;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  cost_saved: number;
  latency_ms: number;
  upstream_latency_ms: number | null;
  cached: boolean;
  attempts: AttemptRecord[];
  error_code: string | null;
}

export interface AuditPage {
  data: AuditRow[];
  next_cursor: string | null;
}
