import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type Repository } from 'typeorm';
import { unitsToDecimalString, unitsToUsd } from '@gateway/billing';
import type { AttemptRecord, Outcome } from '@gateway/context';
import { TenantEntity } from '@gateway/tenancy';
import { encodeCursor, windowStart } from './report-query.parser';
import type {
  AuditPage,
  AuditQuery,
  ChargebackQuery,
  ChargebackReport,
  ChargebackRow,
  ChargebackTotals,
  GroupByField,
  ReportTenant,
  UsageReport,
} from './report.types';
import { RequestRecordEntity } from './request-record.entity';

/*
 * Reports read the ledger with plain SQL: aggregation happens in Postgres over BIGINT units (sum()
 * of BIGINT is NUMERIC, exact), read back as text and converted once with BigInt, so a report's
 * total is exactly the sum of its requests' costs. Only requests that were answered (by a provider
 * or the cache) are usage; refused and failed ones are in the audit list only (docs/api.md §4 and §7). A
 * stream that broke or lost its client after its first byte was charged, so it is usage too.
 */
const ANSWERED = `provider IS NOT NULL AND (outcome IN ('success', 'cached', 'client_closed') OR error_code = 'stream_interrupted')`;

const GROUP_SQL: Record<GroupByField, string> = {
  tenant: `tenant_id::text`,
  provider: `provider`,
  model: `model`,
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  month: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')`,
};

const METRIC_COLUMNS = [
  'requests',
  'prompt_tokens',
  'completion_tokens',
  'cost',
  'cache_hits',
  'cost_saved',
] as const;

interface UsageSqlRow {
  provider: string;
  requests: string;
  tokens: string;
  cost_units: string;
  avg_latency_ms: number;
}

interface ChargebackSqlRow {
  [group: string]: string | null;
  requests: string;
  prompt_tokens: string;
  completion_tokens: string;
  cost_units: string;
  cache_hits: string;
  cost_saved_units: string;
}

interface ChargebackUnitsRow {
  groups: Partial<Record<GroupByField, string | null>>;
  /** The tenant's name when grouped by tenant (null: no such tenant row, or not grouped). */
  tenantName: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUnits: bigint;
  cacheHits: number;
  costSavedUnits: bigint;
}

interface AuditSqlRow {
  id: string;
  cursor_time: string;
  request_id: string;
  tenant_id: string;
  api_key_id: string;
  created_at: Date;
  endpoint: string;
  model: string | null;
  provider: string | null;
  provider_model: string | null;
  status_code: number;
  outcome: Outcome;
  prompt_tokens: number;
  completion_tokens: number;
  cost_units: string;
  cost_saved_units: string;
  latency_ms: number;
  upstream_latency_ms: number | null;
  cached: boolean;
  attempts: AttemptRecord[];
  error_code: string | null;
}

/** Facade of the audit lib: the usage, chargeback and audit reports over `request_records`. */
@Injectable()
export class AuditService {
  constructor(
    @InjectRepository(RequestRecordEntity)
    private readonly records: Repository<RequestRecordEntity>,
    @InjectRepository(TenantEntity)
    private readonly tenants: Repository<TenantEntity>,
  ) {}

  /**
   * One tenant's usage over the rolling `days` × 24 h ending `now`: one row per provider that
   * answered, plus `cache` (cost 0) for cache hits. The caller has resolved the tenant.
   */
  async tenantUsage(tenant: ReportTenant, days: number, now = new Date()): Promise<UsageReport> {
    const tenantId = tenant.id;
    const rows: UsageSqlRow[] = await this.records.query(
      `SELECT CASE WHEN cached THEN 'cache' ELSE provider END AS provider,
              count(*)::text AS requests,
              sum(prompt_tokens::bigint + completion_tokens)::text AS tokens,
              sum(cost_units)::text AS cost_units,
              avg(latency_ms)::float8 AS avg_latency_ms
         FROM request_records
        WHERE tenant_id = $1 AND created_at >= $2 AND ${ANSWERED}
        GROUP BY 1
        ORDER BY 1`,
      [tenantId, windowStart(days, now)],
    );
    return {
      tenant_id: tenantId,
      tenant_name: tenant.name,
      period_days: days,
      usage_by_provider: rows.map((r) => ({
        provider: r.provider,
        requests: Number(r.requests),
        tokens: Number(r.tokens),
        cost: unitsToUsd(BigInt(r.cost_units)),
        avg_latency_ms: Math.round(r.avg_latency_ms * 10) / 10,
      })),
    };
  }

  /** The chargeback report across tenants, as JSON (costs in USD). */
  async chargeback(query: ChargebackQuery): Promise<ChargebackReport> {
    const rows = await this.chargebackUnits(query);
    const data = rows.map((r) => ({ ...groupColumns(r), ...totalsJson(r) }) as ChargebackRow);
    return {
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      group_by: [...query.groupBy],
      data,
      totals: totalsJson(sumRows(rows)),
    };
  }

  /**
   * The chargeback report as CSV (RFC 4180, header row, CRLF): money as exact decimal strings, so
   * a spreadsheet sum of `cost` equals what the requests cost.
   */
  async chargebackCsv(query: ChargebackQuery): Promise<string> {
    const rows = await this.chargebackUnits(query);
    const columns = [...csvGroupColumns(query.groupBy), ...METRIC_COLUMNS];
    const lines = [columns.map(csvField).join(',')];
    for (const r of rows) {
      const groups = groupColumns(r);
      const values: Record<string, string> = {
        requests: String(r.requests),
        prompt_tokens: String(r.promptTokens),
        completion_tokens: String(r.completionTokens),
        cost: unitsToDecimalString(r.costUnits),
        cache_hits: String(r.cacheHits),
        cost_saved: unitsToDecimalString(r.costSavedUnits),
      };
      lines.push(
        columns
          .map((c) => csvField(c in values ? values[c] : (groups[c as keyof typeof groups] ?? '')))
          .join(','),
      );
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  /**
   * Audit records, newest first, keyset-paginated on (created_at, id). `query.tenantId` scopes the
   * list to one tenant (the admin filter); null lists every tenant.
   */
  async listRecords(query: AuditQuery): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (query.tenantId !== null) add((p) => `tenant_id = ${p}`, query.tenantId);
    if (query.from !== null) add((p) => `created_at >= ${p}`, query.from);
    if (query.to !== null) add((p) => `created_at < ${p}`, query.to);
    if (query.outcome !== null) add((p) => `outcome = ${p}`, query.outcome);
    if (query.provider !== null) add((p) => `provider = ${p}`, query.provider);
    if (query.model !== null) add((p) => `model = ${p}`, query.model);
    if (query.cursor !== null) {
      params.push(query.cursor.createdAt, query.cursor.id);
      where.push(
        `(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`,
      );
    }
    params.push(query.limit + 1);
    const rows: AuditSqlRow[] = await this.records.query(
      `SELECT id::text AS id,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
              request_id, tenant_id, api_key_id, created_at, endpoint, model, provider,
              provider_model, status_code, outcome, prompt_tokens, completion_tokens,
              cost_units::text AS cost_units, cost_saved_units::text AS cost_saved_units,
              latency_ms, upstream_latency_ms, cached, attempts, error_code
         FROM request_records
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC
        LIMIT $${params.length}`,
      params,
    );
    const more = rows.length > query.limit;
    const page = more ? rows.slice(0, query.limit) : rows;
    const last = page[page.length - 1];
    return {
      data: page.map(auditRow),
      next_cursor: more ? encodeCursor({ createdAt: last.cursor_time, id: last.id }) : null,
    };
  }

  /** A tenant's spend since `since` in units of 1e-10 USD (e.g. month-to-date, for budgets). */
  async spendSinceUnits(tenantId: string, since: Date): Promise<number> {
    const rows: Array<{ units: string | null }> = await this.records.query(
      `SELECT sum(cost_units)::text AS units FROM request_records
        WHERE tenant_id = $1 AND created_at >= $2`,
      [tenantId, since],
    );
    return Number(rows[0]?.units ?? 0);
  }

  private async chargebackUnits(query: ChargebackQuery): Promise<ChargebackUnitsRow[]> {
    // Group expressions come from the GROUP_SQL whitelist only; values are parameters.
    const select = [
      ...query.groupBy.map((g) => `${GROUP_SQL[g]} AS ${g}`),
      `count(*)::text AS requests`,
      `coalesce(sum(prompt_tokens), 0)::text AS prompt_tokens`,
      `coalesce(sum(completion_tokens), 0)::text AS completion_tokens`,
      `coalesce(sum(cost_units), 0)::text AS cost_units`,
      `count(*) FILTER (WHERE cached)::text AS cache_hits`,
      `coalesce(sum(cost_saved_units), 0)::text AS cost_saved_units`,
    ];
    const positions = query.groupBy.map((_, i) => String(i + 1));
    const rows: ChargebackSqlRow[] = await this.records.query(
      `SELECT ${select.join(', ')}
         FROM request_records
        WHERE created_at >= $1 AND created_at < $2 AND ${ANSWERED}
        ${positions.length > 0 ? `GROUP BY ${positions.join(', ')} ORDER BY ${positions.join(', ')}` : ''}`,
      [query.from, query.to],
    );
    const kept = rows.filter((r) => positions.length > 0 || r.requests !== '0');
    const names = query.groupBy.includes('tenant')
      ? await this.tenantNames(kept.map((r) => r.tenant).filter((id) => id !== null))
      : new Map<string, string>();
    return kept.map((r) => ({
      groups: Object.fromEntries(query.groupBy.map((g) => [g, r[g] ?? null])),
      tenantName: r.tenant ? (names.get(r.tenant) ?? null) : null,
      requests: Number(r.requests),
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      costUnits: BigInt(r.cost_units),
      cacheHits: Number(r.cache_hits),
      costSavedUnits: BigInt(r.cost_saved_units),
    }));
  }

  /**
   * Names of the tenants in a report, by id: one query through the tenancy lib's entity, so the
   * ledger keeps no copy of names (a renamed tenant shows its current name) and no join ties the
   * report SQL to another lib's table.
   */
  private async tenantNames(ids: readonly string[]): Promise<Map<string, string>> {
    const distinct = [...new Set(ids)];
    if (distinct.length === 0) return new Map();
    const rows = await this.tenants.find({
      select: { id: true, name: true },
      where: { id: In(distinct) },
    });
    return new Map(rows.map((t) => [t.id, t.name]));
  }
}

type GroupColumn = GroupByField | 'tenant_id' | 'tenant_name';

/** The row's group_by columns; `tenant` also as `tenant_id`, next to `tenant_name`. */
function groupColumns(r: ChargebackUnitsRow): Partial<Record<GroupColumn, string | null>> {
  const out: Partial<Record<GroupColumn, string | null>> = {};
  for (const [g, v] of Object.entries(r.groups) as Array<[GroupByField, string | null]>) {
    out[g] = v;
    if (g === 'tenant') {
      out.tenant_id = v;
      out.tenant_name = r.tenantName;
    }
  }
  return out;
}

function csvGroupColumns(groupBy: readonly GroupByField[]): string[] {
  return groupBy.flatMap((g) => (g === 'tenant' ? ['tenant', 'tenant_id', 'tenant_name'] : [g]));
}

function sumRows(rows: readonly ChargebackUnitsRow[]): ChargebackUnitsRow {
  const total: ChargebackUnitsRow = {
    groups: {},
    tenantName: null,
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUnits: 0n,
    cacheHits: 0,
    costSavedUnits: 0n,
  };
  for (const r of rows) {
    total.requests += r.requests;
    total.promptTokens += r.promptTokens;
    total.completionTokens += r.completionTokens;
    total.costUnits += r.costUnits;
    total.cacheHits += r.cacheHits;
    total.costSavedUnits += r.costSavedUnits;
  }
  return total;
}

function totalsJson(r: ChargebackUnitsRow): ChargebackTotals {
  return {
    requests: r.requests,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cost: unitsToUsd(r.costUnits),
    cache_hits: r.cacheHits,
    cost_saved: unitsToUsd(r.costSavedUnits),
  };
}

function auditRow(r: AuditSqlRow): AuditPage['data'][number] {
  return {
    request_id: r.request_id,
    tenant_id: r.tenant_id,
    api_key_id: r.api_key_id,
    created_at: r.created_at.toISOString(),
    endpoint: r.endpoint,
    model: r.model,
    provider: r.provider,
    provider_model: r.provider_model,
    status_code: r.status_code,
    outcome: r.outcome,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cost: unitsToUsd(BigInt(r.cost_units)),
    cost_saved: unitsToUsd(BigInt(r.cost_saved_units)),
    latency_ms: r.latency_ms,
    upstream_latency_ms: r.upstream_latency_ms,
    cached: r.cached,
    attempts: r.attempts,
    error_code: r.error_code,
  };
}

/** RFC 4180 quoting, plus a leading quote for cells a spreadsheet would run as a formula. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
